"""The webhook contract with a real Celery worker (separate process, own Redis, the test's PostgreSQL):
events queued on commit while the receiver fails are retried by the worker's own back-off, and once it
answers they arrive, each once, verified with `standardwebhooks`, each incident's in order. No beat runs,
so nothing is rescued by the sweep: the retries and the hand-over from one delivery to the next of its
incident do it all. Skipped without PostgreSQL and redis-server (failed under CI=true)."""

import time

import pytest

from escalation.models import Notification, Webhook
from incidents import services as incident_services
from tests.escalation.worker import Worker, wait_for
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_delivers_everything_once_and_in_order_after_the_receiver_recovers(
    queue_to_own_redis, own_redis, started_workers, manager, signed_receiver
):
    hook = Webhook.objects.create(
        name="automation",
        url=signed_receiver.url,
        events=["incident.created", "incident.classified", "incident.state_changed"],
    )
    signed_receiver.secret = hook.secret
    worker = Worker(own_redis.url, log_name="test-webhook-worker.log")
    worker.env["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.1/32"  # the receiver, as a lab lists its own
    started_workers.append(worker.start())

    signed_receiver.failing = True
    service = ServiceFactory()
    incidents = []
    for n in range(3):
        incident = incident_services.incident_create(user=manager, title=f"pve-0{n} down", service=service)
        incident = incident_services.incident_classify(
            incident=incident, user=manager, category="infrastructure", urgency="low", impact="low"
        )
        incidents.append(incident_services.incident_investigate(incident=incident, user=manager))
    rows = list(Notification.objects.filter(webhook=hook).order_by("pk"))
    assert len(rows) == 3 * 4
    assert wait_for(lambda: len(signed_receiver.attempts) >= 3, timeout=30), "first attempts, failing"
    time.sleep(5)
    signed_receiver.failing = False  # back after the first retry is scheduled (30 s)

    assert wait_for(
        lambda: not Notification.objects.filter(webhook=hook, status="pending").exists(), timeout=90
    ), signed_receiver.attempts
    time.sleep(2)  # would a duplicate turn up late?
    assert signed_receiver.refused == []
    accepted = signed_receiver.accepted_ids()
    assert sorted(accepted) == sorted(row.message_id for row in rows), "each once, none lost"
    for incident in incidents:
        raised = [row.message_id for row in rows if row.incident_id == incident.pk]
        assert [i for i in accepted if i in raised] == raised, "in the order raised"
