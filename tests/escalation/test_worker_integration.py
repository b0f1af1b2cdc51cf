"""A real Celery worker (separate process) against the real Redis broker and PostgreSQL database: an
escalation fires at its time exactly once, and killing the worker mid-run loses nothing and doubles
nothing. Runs in CI's PostgreSQL pass; elsewhere it skips with the reason (under CI=true it fails)."""

import os
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from escalation.models import EscalationEvent, Notification
from incidents import services as incident_services
from incidents.models import SlaPolicy
from tests.escalation.worker import Worker, wait_for
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker():
    """The Redis broker the suite is configured with; checks it answers."""
    url = settings.CELERY_BROKER_URL
    problem = None
    if connection.vendor != "postgresql":
        problem = "needs PostgreSQL shared with the worker process (DATABASE_URL=postgres://...)"
    elif not url.startswith("redis://"):
        problem = "needs CELERY_BROKER_URL=redis://... (CI's PostgreSQL pass sets it)"
    else:
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            problem = f"Redis at {url} does not answer: {exc}"
    if problem:
        if os.environ.get("CI") == "true" and connection.vendor == "postgresql":
            pytest.fail(problem)
        pytest.skip(problem)
    from itsm.celery import app

    app.control.purge()  # nothing left over from other tests
    return url


def seconds_policy():
    """S4 with targets of seconds: response 100% at +4 s; resolution 50/75/100% at +4/+6/+8 s."""
    SlaPolicy.objects.filter(severity="S4").update(
        response_target=timedelta(seconds=4), resolution_target=timedelta(seconds=8)
    )


def log_s4(manager):
    incident = incident_services.incident_create(
        user=manager,
        title="SDR-2 dropping samples",
        service=ServiceFactory(stakeholder_emails="obs@lab.example"),
    )
    return incident_services.incident_classify(
        incident=incident, user=manager, category="observatory", urgency="low", impact="low"
    )


@pytest.fixture
def workers():
    started = []
    yield started
    for worker in started:
        worker.stop()


def test_escalations_fire_at_their_time_exactly_once(broker, reference_data, manager, workers):
    seconds_policy()
    workers.append(Worker(broker).start())
    incident = log_s4(manager)

    assert wait_for(lambda: EscalationEvent.objects.filter(incident=incident).count() >= 4, timeout=60)
    time.sleep(3)  # would a duplicate turn up late?
    events = list(EscalationEvent.objects.filter(incident=incident).order_by("due_at"))
    assert [e.level for e in events] == [1, 1, 2, 3]
    assert len({e.key for e in events}) == 4
    for event in events:
        assert event.fired_at >= event.due_at
        assert event.fired_at - event.due_at < timedelta(seconds=5), "fired by the scheduled task, on time"
    assert wait_for(
        lambda: not Notification.objects.filter(incident=incident, status="pending").exists(), timeout=30
    )
    assert Notification.objects.filter(incident=incident, template="escalation", status="sent").exists()


def test_killing_the_worker_mid_run_loses_nothing_and_doubles_nothing(
    broker, reference_data, manager, workers
):
    seconds_policy()
    # The sweep every 2 s stands in for the production minute.
    every, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task="escalation.tasks.sweep").update(interval=every)

    first = Worker(broker).start()
    workers.append(first)
    time.sleep(3)  # let it connect and start consuming
    incident = log_s4(manager)
    time.sleep(1)  # the worker now holds the ETA tasks, unacknowledged
    first.kill()
    assert EscalationEvent.objects.filter(incident=incident).count() == 0

    second = Worker(broker, beat=True).start()
    workers.append(second)
    assert wait_for(lambda: EscalationEvent.objects.filter(incident=incident).count() >= 4, timeout=90)
    time.sleep(5)
    keys = list(EscalationEvent.objects.filter(incident=incident).values_list("key", flat=True))
    assert len(keys) == 4 == len(set(keys))
    assert wait_for(
        lambda: not Notification.objects.filter(incident=incident, status="pending").exists(), timeout=90
    )
    per_recipient = Notification.objects.filter(incident=incident, template="escalation").values_list(
        "subject", "recipient"
    )
    assert len(per_recipient) == len(set(per_recipient)), "no message was sent twice"
