from django.db import migrations

# Resolved incidents the caller did not answer about close themselves (`incidents.tasks.auto_close_resolved`);
# every 15 minutes, so one closes at most a quarter of an hour after its answer deadline.
NAME = "Close resolved incidents the caller did not answer about"
TASK = "incidents.tasks.auto_close_resolved"


def schedule(apps, schema_editor):
    from incidents.reference_data import ensure_interval_task

    ensure_interval_task(apps, name=NAME, task=TASK, every=15, period="minutes")


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME, task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0011_incident_types_by_category"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
