from django.db import migrations


def seed(apps, schema_editor):
    from incidents.reference_data import seed_alert_intake

    seed_alert_intake(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0003_alert_intake"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
