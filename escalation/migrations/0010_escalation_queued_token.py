"""Which token's task is in the broker, so the minute sweep queues a step due beyond the queue horizon once
it comes within reach. Rows from before start empty: the sweep queues their step again when it is near;
the task a Redis still holds from before carries the same token, so whichever runs first fires it once."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("escalation", "0009_message_rules"),
    ]

    operations = [
        migrations.AddField(
            model_name="incidentescalation",
            name="queued_token",
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
    ]
