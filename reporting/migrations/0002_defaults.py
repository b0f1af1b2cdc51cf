from django.db import migrations


def seed(apps, schema_editor):
    from reporting.reference_data import seed_reporting_data

    seed_reporting_data(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_initial"),
        ("incidents", "0002_reference_data"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
