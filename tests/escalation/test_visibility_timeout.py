"""Redis hands a task nobody acknowledged within its visibility timeout to a worker again, and a worker holds
an ETA task unacknowledged until its time. With no task queued further ahead than the horizon, and the
visibility timeout above horizon + run time, no task is ever handed out twice, however far ahead the
escalations fall due.

Scaled down to seconds: visibility timeout 10 s, horizon 3 s, time limit 6 s; escalations due from 2 s to
40 s after logging. A second worker starts after 14 s: starting, a worker hands every message held longer
than the visibility timeout back to the queue (and then every 100 s), so a step queued at logging for +20 s
(what happened before the horizon) would reach it a second time. Needs PostgreSQL and redis-server (a
Redis of the test's own); elsewhere it skips with the reason."""

import re
import time
from datetime import timedelta

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from escalation.models import EscalationEvent, Notification
from incidents import services as incident_services
from incidents.choices import Role
from incidents.models import SlaPolicy
from tests.escalation.worker import Worker, wait_for
from tests.factories import ServiceFactory, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

INCIDENTS = 6
STEPS = 4  # response 100%; resolution 50, 75, 100%
SHORT = {
    "CELERY_VISIBILITY_TIMEOUT": "10",
    "ESCALATION_QUEUE_HORIZON": "PT3S",
    "CELERY_TASK_TIME_LIMIT": "6",
    "CELERY_TASK_SOFT_TIME_LIMIT": "5",
}
RECEIVED = re.compile(r"escalation\.tasks\.fire_escalation\[([0-9a-f-]{36})\] received")


def start_worker(broker_url, name, *, beat=False) -> Worker:
    worker = Worker(broker_url, beat=beat, log_name=f"test-visibility-{name}.log")
    worker.env.update(SHORT)
    worker.log_path.unlink(missing_ok=True)
    return worker.start()


def received(workers) -> list[str]:
    """The id of every escalation task a worker took from Redis, once per time it took it."""
    return [task_id for worker in workers for task_id in RECEIVED.findall(worker.log_path.read_text())]


def test_no_escalation_task_is_handed_out_twice_and_each_fires_once(
    own_redis, queue_to_own_redis, started_workers, reference_data, settings
):
    settings.ESCALATION_QUEUE_HORIZON = timedelta(seconds=3)  # this process queues at classification
    SlaPolicy.objects.filter(severity="S4").update(
        response_target=timedelta(seconds=2), resolution_target=timedelta(seconds=40)
    )
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task="escalation.tasks.sweep").update(interval=every)  # the minute, scaled
    manager = make_user(Role.INCIDENT_MANAGERS, username="im", email="im@lab.example")
    make_user(Role.SERVICE_DESK, username="desk", email="desk@lab.example")
    make_user(Role.MANAGEMENT, username="boss", email="boss@lab.example")

    first = start_worker(own_redis.url, "first", beat=True)
    started_workers.append(first)
    assert wait_for(lambda: "ready" in first.log_path.read_text(), timeout=30), f"see {first.log_path}"
    service = ServiceFactory()
    incidents = []
    for number in range(INCIDENTS):
        logged = incident_services.incident_create(
            user=manager, title=f"SDR-{number} dropping samples", service=service
        )
        incidents.append(
            incident_services.incident_classify(
                incident=logged, user=manager, category="observatory", urgency="low", impact="low"
            )
        )
    time.sleep(14)
    second = start_worker(own_redis.url, "second")
    started_workers.append(second)

    expected = INCIDENTS * STEPS
    assert wait_for(lambda: EscalationEvent.objects.count() >= expected, timeout=60), (
        f"{EscalationEvent.objects.count()} of {expected} fired; see {first.log_path}"
    )
    assert wait_for(lambda: not Notification.objects.filter(status="pending").exists(), timeout=20)
    time.sleep(3)  # would a duplicate turn up late?

    events = EscalationEvent.objects.filter(incident__in=incidents)
    task_ids = received([first, second])
    escalation_mail = Notification.objects.filter(incident__in=incidents, template="escalation")
    per_recipient = list(escalation_mail.values_list("incident", "subject", "recipient"))
    print(
        f"\nvisibility timeout 10 s, horizon 3 s: {events.count()} escalations fired of {expected}, "
        f"{len(task_ids)} escalation tasks received ({len(set(task_ids))} distinct), "
        f"{len(per_recipient)} escalation e-mails"
    )
    assert len(task_ids) == len(set(task_ids)), "a task was handed out twice"
    assert events.count() == expected
    timeline = sum(incident.timeline.filter(kind="escalation").count() for incident in incidents)
    assert timeline == expected, "each step on the timeline once"
    assert len(per_recipient) == expected == len(set(per_recipient)), "one e-mail per escalation"
    assert not escalation_mail.exclude(status="sent").exists()
    # On time: by its own task at its ETA (a loaded machine may add a few seconds), not by a later sweep.
    late = [e for e in events if e.fired_at - e.due_at > timedelta(seconds=8)]
    assert not late, f"fired late: {[(e.due_at, e.fired_at) for e in late]}"
