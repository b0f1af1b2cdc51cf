"""The Standard Webhooks migration on existing data: each webhook delivery (sent ones too) gets its own webhook-id,
and a hook the former rule switched off after 10 failures becomes a paused one (resuming sends what waits)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone


def the_migration():
    """Found by name, whatever number it carries."""
    graph = MigrationExecutor(connection).loader.graph
    [after] = [
        key for key in graph.nodes if key[0] == "escalation" and key[1].endswith("webhook_delivery_standard")
    ]
    [before] = [parent for parent in graph.node_map[after].parents if parent.key[0] == "escalation"]
    return before.key, after


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_webhook_deliveries_get_their_own_ids_and_switched_off_hooks_are_paused():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    before, after = the_migration()
    try:
        old = migrate([before])
        Webhook = old.get_model("escalation", "Webhook")
        Notification = old.get_model("escalation", "Notification")
        now = timezone.now()
        off = Webhook.objects.create(
            name="off",
            url="https://a.example/",
            secret="s",
            is_active=False,
            disabled_at=now,
            disabled_reason="503",
        )
        kept_off = Webhook.objects.create(
            name="kept off", url="https://b.example/", secret="s", is_active=False
        )
        fine = Webhook.objects.create(name="fine", url="https://c.example/", secret="s")
        rows = {
            status: Notification.objects.create(
                channel="webhook",
                recipient="fine",
                webhook=fine,
                template="event",
                subject=status,
                body="b",
                status=status,
            ).pk
            for status in ("pending", "sent")
        }
        second = Notification.objects.create(
            channel="webhook", recipient="fine", webhook=fine, template="event", subject="p2", body="b"
        ).pk

        new = migrate([after])
        Webhook = new.get_model("escalation", "Webhook")
        Notification = new.get_model("escalation", "Notification")
        ids = dict(Notification.objects.values_list("pk", "message_id"))
        assert ids[rows["pending"]].startswith("msg_") and ids[second].startswith("msg_")
        assert len({ids[rows["pending"]], ids[second], ids[rows["sent"]]}) == 3
        assert ids[rows["sent"]].startswith("msg_")  # Redeliver may send it again
        paused = Webhook.objects.get(pk=off.pk)
        assert paused.is_active and paused.paused_at == now and paused.paused_reason == "503"
        assert not Webhook.objects.get(pk=kept_off.pk).is_active, "switched off by hand: stays off"
    finally:
        migrate(leaves)
