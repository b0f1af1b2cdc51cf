from django.db import migrations

# Incident Managers release sign-in lockouts (delete an access attempt), read the sign-in log, and list and
# revoke API tokens (delete one) in the admin, which never shows a token's key (incidents.admin.tokens).
SIGN_IN_ADMIN_PERMISSIONS = [
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
    "axes.view_accesslog",
    "incidents.view_apitoken",
    "incidents.delete_apitoken",
]


def seed(apps, schema_editor):
    from incidents.choices import Role
    from incidents.reference_data import grant_role_permissions

    grant_role_permissions(apps, {Role.INCIDENT_MANAGERS: SIGN_IN_ADMIN_PERMISSIONS})


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0006_confidentiality"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("axes", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[],
            options={
                "verbose_name": "API token",
                "verbose_name_plural": "API tokens",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("authtoken.tokenproxy",),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
