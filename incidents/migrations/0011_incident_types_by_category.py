from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("incidents", "0010_process_caller_investigation_closure")]

    operations = []
