from django.db import migrations


def withhold(apps, schema_editor):
    from incidents.choices import Role
    from incidents.reference_data import revoke_role_permissions
    from reporting.reference_data import MANAGEMENT_WITHHELD

    revoke_role_permissions(apps, {Role.MANAGEMENT: MANAGEMENT_WITHHELD})


class Migration(migrations.Migration):
    dependencies = [("reporting", "0002_defaults")]

    operations = [migrations.RunPython(withhold, migrations.RunPython.noop)]
