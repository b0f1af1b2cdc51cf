"""Scale-out: nothing assumes one worker. Two Celery workers (separate processes, as on two hosts) and two
sweepers without beat (threads running the minute sweep's task body at once) share one PostgreSQL and one
Redis over 500 due escalations: each fires exactly once, with one e-mail, whoever fires it.

Needs PostgreSQL and redis-server (a Redis of the test's own); elsewhere it skips with the reason."""

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from escalation import services, tasks
from escalation.models import EscalationEvent, IncidentEscalation, Notification
from incidents import services as incident_services
from incidents.choices import Role
from incidents.models import TimelineEvent
from tests.escalation.worker import Worker, wait_for
from tests.factories import ServiceFactory, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

INCIDENTS = 125
STEPS = 4  # S4's default policy: response 100% (level 1); resolution 50% (1), 75% (2), 100% (3)


def log_overdue_incidents(manager) -> list:
    """S4 incidents logged four days ago (resolution target 72 h): every step is due now. Rescheduled now,
    as any change to an incident does, each queues its task (a backlog after an outage, say): the workers
    find them waiting when they start."""
    service = ServiceFactory()
    with time_machine.travel(timezone.now() - timedelta(days=4), tick=False):
        incidents = [
            incident_services.incident_classify(
                incident=incident_services.incident_create(
                    user=manager, title=f"pve-{number:03} unreachable", service=service
                ),
                user=manager,
                category="infrastructure",
                urgency="low",
                impact="low",
            )
            for number in range(INCIDENTS)
        ]
    for incident in incidents:
        with transaction.atomic():
            services.reschedule(incident=incident)
    return incidents


class Sweeper(threading.Thread):
    """The beat task's body in a loop, as two beats (or one slow sweep and the next) would run it."""

    def __init__(self, deadline: float):
        super().__init__(daemon=True)
        self.deadline, self.fired, self.sweeps, self.error = deadline, 0, 0, None

    def run(self):
        try:
            while time.monotonic() < self.deadline:
                self.fired += tasks.sweep()["fired"]
                self.sweeps += 1
                if not IncidentEscalation.objects.filter(next_escalation_at__lte=timezone.now()).exists():
                    return
        except Exception as exc:  # reported by the test
            self.error = exc
        finally:
            connection.close()


def test_two_workers_and_two_sweepers_fire_each_of_500_escalations_once(
    own_redis, queue_to_own_redis, started_workers, reference_data
):
    manager = make_user(Role.INCIDENT_MANAGERS, username="im", email="im@lab.example")
    make_user(Role.SERVICE_DESK, username="desk", email="desk@lab.example")  # level 1 (the tier's group)
    make_user(Role.MANAGEMENT, username="boss", email="boss@lab.example")  # level 3
    began = time.monotonic()
    incidents = log_overdue_incidents(manager)
    logged_in = time.monotonic() - began
    expected = INCIDENTS * STEPS

    for name in ("a", "b"):
        worker = Worker(own_redis.url, log_name=f"test-scale-out-{name}.log")
        worker.env["EMAIL_URL"] = "dummymail://"  # sent, not printed into the log
        worker.log_path.unlink(missing_ok=True)
        started_workers.append(worker.start())
    for worker in started_workers:
        assert wait_for(lambda w=worker: "ready" in w.log_path.read_text(), timeout=30), (
            f"see {worker.log_path}"
        )
    sweepers = [Sweeper(deadline=time.monotonic() + 60) for _ in range(2)]
    for sweeper in sweepers:
        sweeper.start()
    assert wait_for(lambda: EscalationEvent.objects.count() >= expected, timeout=60), (
        f"{EscalationEvent.objects.count()} of {expected} fired"
    )
    for sweeper in sweepers:
        sweeper.join(timeout=30)
        assert sweeper.error is None, sweeper.error
    assert wait_for(lambda: not Notification.objects.filter(status="pending").exists(), timeout=60)
    time.sleep(2)  # would a duplicate turn up late?

    events = EscalationEvent.objects.filter(incident__in=incidents)
    by_sweepers = sum(sweeper.fired for sweeper in sweepers)
    mail = Notification.objects.filter(incident__in=incidents, template="escalation")
    per_recipient = list(mail.values_list("incident", "subject", "recipient"))
    timeline = TimelineEvent.objects.filter(incident__in=incidents, kind="escalation").count()
    print(
        f"\nscale-out: {INCIDENTS} incidents logged in {logged_in:.1f} s; {events.count()} of {expected} "
        f"escalations fired, {by_sweepers} by the sweepers ({[s.fired for s in sweepers]} in {[s.sweeps for s in sweepers]} sweeps), "
        f"{expected - by_sweepers} by the workers' tasks; {len(per_recipient)} escalation e-mails "
        f"({mail.filter(status='sent').count()} sent); {timeline} timeline entries"
    )
    assert events.count() == expected
    assert sorted(events.values_list("level", flat=True)) == sorted([1, 1, 2, 3] * INCIDENTS)
    assert timeline == expected, "each escalation on its incident's timeline once"
    assert len(per_recipient) == expected == len(set(per_recipient)), "one e-mail per escalation"
    assert mail.filter(status="sent").count() == expected
    assert not IncidentEscalation.objects.filter(
        incident__in=incidents, next_escalation_at__isnull=False
    ).exists()
