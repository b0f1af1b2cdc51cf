from django.db import migrations


def seed(apps, schema_editor):
    from incidents.reference_data import seed_reference_data

    seed_reference_data(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
