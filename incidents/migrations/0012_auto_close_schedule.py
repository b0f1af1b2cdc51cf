from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("incidents", "0011_incident_types_by_category")]

    operations = []
