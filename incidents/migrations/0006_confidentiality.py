from django.db import migrations


def seed(apps, schema_editor):
    from incidents.reference_data import seed_confidentiality

    seed_confidentiality(apps)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0005_service_catalogue")]

    operations = [
        migrations.AlterModelOptions(
            name="incident",
            options={
                "ordering": ["-created_at", "-pk"],
                "permissions": [
                    ("classify_incident", "Can classify incidents"),
                    ("investigate_incident", "Can investigate incidents"),
                    ("hold_incident", "Can put incidents on hold and resume them"),
                    ("resolve_incident", "Can resolve incidents"),
                    ("close_incident", "Can close incidents"),
                    ("reopen_incident", "Can reopen incidents"),
                    ("cancel_incident", "Can cancel incidents"),
                    ("override_severity", "Can override the severity matrix"),
                    ("manage_incident", "Can manage any incident (Incident Manager)"),
                    ("view_all_incidents", "Can see the incidents of every tier"),
                    ("view_security_incident", "Can see security incidents"),
                    ("send_status_update", "Can send status updates to an incident's stakeholders"),
                ],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
