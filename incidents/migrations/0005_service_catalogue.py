from django.db import migrations


def seed(apps, schema_editor):
    from incidents.reference_data import seed_service_catalogue

    seed_service_catalogue(apps)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0004_alert_intake_defaults")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
