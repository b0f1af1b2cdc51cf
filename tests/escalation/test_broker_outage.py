"""A worker that outlives its broker (issue #8): Redis goes away for 30 s while a Celery worker (with beat)
holds an escalation's scheduled task. The worker must stay up, reconnect when Redis is back, and the
escalations that fell due meanwhile must fire, each exactly once: the sweep finds them, since a Redis
that keeps nothing on disk comes back empty.

Needs PostgreSQL (shared with the worker) and the `redis-server` binary; it starts its own Redis on a free
port. Elsewhere it skips with the reason; under CI=true on PostgreSQL it fails instead."""

import time
from datetime import timedelta

import pytest
import redis
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from kombu.exceptions import OperationalError

from escalation.models import EscalationEvent, Notification
from incidents import services as incident_services
from incidents.models import SlaPolicy
from tests.escalation.worker import Worker, wait_for
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db(transaction=True)

OUTAGE = 30  # seconds without Redis


@pytest.fixture
def redis_server(own_redis):
    """A Redis of this test's own, which it may stop and start (`own_redis`, tests/escalation/conftest.py)."""
    return own_redis


@pytest.fixture
def publisher(queue_to_own_redis):
    """This process' Celery app (the web side, which queues each escalation's task), sending to that Redis."""
    return queue_to_own_redis


@pytest.fixture
def worker(redis_server):
    worker = Worker(redis_server.url, beat=True, log_name="test-broker-outage.log")
    yield worker
    worker.stop()


def log_s4(manager):
    """An S4 incident with targets of seconds: response 100% and resolution 50% at +10 s, resolution 75%
    at +15 s and 100% at +20 s; all four fall due while Redis is away."""
    SlaPolicy.objects.filter(severity="S4").update(
        response_target=timedelta(seconds=10), resolution_target=timedelta(seconds=20)
    )
    incident = incident_services.incident_create(
        user=manager,
        title="SDR-2 dropping samples",
        service=ServiceFactory(stakeholder_emails="obs@lab.example"),
    )
    return incident_services.incident_classify(
        incident=incident, user=manager, category="observatory", urgency="low", impact="low"
    )


def answers(app) -> bool:
    """The worker is connected to the broker: it replies to a ping sent through it."""
    try:
        return bool(app.control.ping(timeout=1))
    except (redis.RedisError, OperationalError):  # this process' own connection is still the lost one
        return False


def holds_escalation(app, incident) -> bool:
    """The worker has taken the incident's escalation task from the queue and waits for its time."""
    scheduled = app.control.inspect(timeout=1).scheduled() or {}
    return any(
        entry["request"]["name"] == "escalation.tasks.fire_escalation"
        and entry["request"]["args"][0] == incident.pk
        for entries in scheduled.values()
        for entry in entries
    )


def test_the_worker_survives_a_redis_outage_and_fires_what_fell_due_once(
    redis_server, publisher, worker, reference_data, manager
):
    # The sweep every 2 s stands in for the production minute.
    every, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task="escalation.tasks.sweep").update(interval=every)
    log = f"see {worker.log_path}"

    worker.start()
    assert wait_for(lambda: answers(publisher), timeout=30), f"the worker never came up ({log})"
    incident = log_s4(manager)
    assert wait_for(lambda: holds_escalation(publisher, incident), timeout=10)

    redis_server.stop()
    died = wait_for(lambda: not worker.alive, timeout=OUTAGE, interval=1)
    assert not died, f"the worker exited when Redis went away ({log})"
    assert not EscalationEvent.objects.filter(incident=incident).exists(), "nothing fires without a broker"
    restarted_at = timezone.now()
    redis_server.start()

    assert wait_for(lambda: answers(publisher), timeout=25), f"the worker did not reconnect ({log})"
    assert wait_for(lambda: EscalationEvent.objects.filter(incident=incident).count() >= 4, timeout=15)
    assert wait_for(
        lambda: not Notification.objects.filter(incident=incident, status="pending").exists(), timeout=15
    )
    time.sleep(2)  # would a duplicate turn up late?

    assert worker.alive
    events = list(EscalationEvent.objects.filter(incident=incident).order_by("due_at", "pk"))
    assert [e.level for e in events] == [1, 1, 2, 3]
    assert len({e.key for e in events}) == 4, "each step fired once"
    for event in events:
        assert event.due_at < restarted_at <= event.fired_at, "fell due during the outage, fired after it"
    sent = Notification.objects.filter(incident=incident, template="escalation")
    assert sent.exists() and not sent.exclude(status="sent").exists()
    per_recipient = list(sent.values_list("subject", "recipient"))
    assert len(per_recipient) == len(set(per_recipient)), "no message was sent twice"
