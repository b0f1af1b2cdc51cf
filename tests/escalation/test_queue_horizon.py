"""Nothing waits in the broker for hours: a task is queued at most ESCALATION_QUEUE_HORIZON (10 min) ahead,
since Redis hands a task held past its visibility timeout to a worker again. A later escalation waits in
the database and the minute sweep queues it once it comes within the horizon, once per token; a delivery
back-off beyond the horizon waits in the outbox for the sweep. time-machine, no worker: what would be
queued is recorded instead of sent."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from escalation import services, tasks
from escalation.choices import Template
from escalation.models import EscalationEvent, IncidentEscalation, Notification
from escalation.services import publishing
from incidents import services as incident_services
from incidents.models import SlaPolicy
from tests.factories import ServiceFactory, incident_in
from tests.test_settings import PRODUCTION, run_python, start

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def at(moment):
    return time_machine.travel(moment, tick=False)


class BrokerDown(Exception):
    pass


@pytest.fixture
def queued(monkeypatch):
    """(incident id, token, eta) of every escalation task sent; set `queued.down = True` to refuse them."""

    class Sent(list):
        down = False

    sent = Sent()

    def apply_async(*, args, eta):
        if sent.down:
            raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        sent.append((args[0], args[1], eta))

    monkeypatch.setattr(tasks.fire_escalation, "apply_async", apply_async)
    return sent


@pytest.fixture
def incident(manager, django_capture_on_commit_callbacks):
    """S4 with a 2 h response and 8 h resolution target: steps due at +2 h (response 100%), +4 h, +6 h and
    +8 h (resolution 50/75/100%), logged and classified at T0."""
    SlaPolicy.objects.filter(severity="S4").update(
        response_target=timedelta(hours=2), resolution_target=timedelta(hours=8)
    )
    with at(T0), django_capture_on_commit_callbacks(execute=True):
        logged = incident_services.incident_create(
            user=manager, title="Portal slow", service=ServiceFactory(stakeholder_emails="users@lab.example")
        )
        return incident_services.incident_classify(
            incident=logged, user=manager, category="application", urgency="low", impact="low"
        )


def token_of(incident) -> str:
    return str(IncidentEscalation.objects.get(incident=incident).active_escalation_id)


def minute_sweep(moment, capture):
    """The beat task at `moment`, with what it commits followed through (on_commit callbacks run)."""
    with at(moment), capture(execute=True):
        return tasks.sweep()


def test_a_step_due_beyond_the_horizon_is_queued_once_by_the_sweep_that_comes_within_it(
    incident, queued, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    assert queued == [], "due in 2 h: left to the sweep, not queued at classification"
    assert minute_sweep(T0 + timedelta(minutes=1), capture)["queued"] == 0

    assert minute_sweep(T0 + timedelta(hours=1, minutes=55), capture)["queued"] == 1
    assert queued == [(incident.pk, token_of(incident), T0 + timedelta(hours=2))]
    for minutes in (56, 57, 59):  # the following sweeps find it queued
        assert minute_sweep(T0 + timedelta(hours=1, minutes=minutes), capture)["queued"] == 0
    assert len(queued) == 1

    # The task runs at its ETA and fires the response step; the next step (+4 h) is 2 h away: not queued.
    with at(T0 + timedelta(hours=2)), capture(execute=True):
        assert len(services.fire_due(incident_id=incident.pk, token=queued[0][1])) == 1
    assert len(queued) == 1
    assert minute_sweep(T0 + timedelta(hours=3, minutes=50), capture) == {
        "fired": 0,
        "queued": 1,
        "requeued": 0,
    }
    assert queued[1] == (incident.pk, token_of(incident), T0 + timedelta(hours=4))


def test_a_reschedule_queues_the_new_token_again(incident, queued, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    minute_sweep(T0 + timedelta(hours=1, minutes=52), capture)
    old_token = token_of(incident)
    with at(T0 + timedelta(hours=1, minutes=53)), capture(execute=True):
        services.reschedule(incident=incident)  # what any change to the incident does
    new_token = token_of(incident)
    assert new_token != old_token
    due = T0 + timedelta(hours=2)
    assert queued == [(incident.pk, old_token, due), (incident.pk, new_token, due)], "within reach: at once"
    assert minute_sweep(T0 + timedelta(hours=1, minutes=54), capture)["queued"] == 0
    with at(due), capture(execute=True):
        assert services.fire_due(incident_id=incident.pk, token=old_token) == [], "the old task is stale"
        assert len(services.fire_due(incident_id=incident.pk, token=new_token)) == 1


def test_the_sweep_fires_what_is_overdue_and_queues_only_what_is_ahead(
    incident, queued, django_capture_on_commit_callbacks
):
    # Nobody ran for 6 h 5 min: the +2, +4 and +6 h steps fire now; +8 h is 1 h 55 min ahead, not queued.
    result = minute_sweep(T0 + timedelta(hours=6, minutes=5), django_capture_on_commit_callbacks)
    assert (result["fired"], result["queued"]) == (3, 0)
    assert EscalationEvent.objects.filter(incident=incident).count() == 3
    assert queued == []
    assert IncidentEscalation.objects.get(incident=incident).next_escalation_at == T0 + timedelta(hours=8)


def test_a_broker_outage_leaves_the_step_for_the_next_sweep(
    incident, queued, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    queued.down = True
    assert minute_sweep(T0 + timedelta(hours=1, minutes=55), capture)["queued"] == 0
    assert IncidentEscalation.objects.get(incident=incident).queued_token is None, "not marked as queued"
    queued.down = False
    assert minute_sweep(T0 + timedelta(hours=1, minutes=56), capture)["queued"] == 0, "queuing paused"
    publishing.resume()  # a minute later the pause is over (time-machine leaves the monotonic clock)
    assert minute_sweep(T0 + timedelta(hours=1, minutes=56), capture)["queued"] == 1
    assert queued == [(incident.pk, token_of(incident), T0 + timedelta(hours=2))]


def test_a_step_within_the_horizon_is_queued_at_once_and_not_again_by_the_sweep(
    manager, queued, django_capture_on_commit_callbacks, settings
):
    settings.ESCALATION_QUEUE_HORIZON = timedelta(hours=3)
    SlaPolicy.objects.filter(severity="S4").update(
        response_target=timedelta(hours=2), resolution_target=timedelta(hours=8)
    )
    with at(T0), django_capture_on_commit_callbacks(execute=True):
        incident = incident_in("classified", manager=manager, urgency="low", impact="low")
    assert queued == [(incident.pk, token_of(incident), incident.response_due_at)]
    assert minute_sweep(T0 + timedelta(minutes=1), django_capture_on_commit_callbacks)["queued"] == 0


def test_no_sweep_queues_a_task_further_ahead_than_the_horizon(
    incident, queued, django_capture_on_commit_callbacks
):
    for minutes in range(0, 8 * 60, 5):
        now = T0 + timedelta(minutes=minutes)
        minute_sweep(now, django_capture_on_commit_callbacks)
        assert all(eta <= now + timedelta(minutes=10) for _, _, eta in queued)
    assert [eta for _, _, eta in queued] == [T0 + timedelta(hours=hours) for hours in (2, 4, 6, 8)]


# --- the outbox ------------------------------------------------------------------------------------------


@pytest.fixture
def failing_mail(settings):
    """Every e-mail fails as an unreachable mail server does."""
    settings.EMAIL_BACKEND = "tests.escalation.test_queue_horizon.RefusingBackend"


class RefusingBackend:
    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail.lab:587")


@pytest.fixture
def retries(monkeypatch):
    """The countdowns the delivery task asked to be retried after (instead of queuing anything)."""

    class Retry(Exception):
        pass

    class Asked(list):
        pass

    asked = Asked()

    def retry(*, countdown):
        asked.append(countdown)
        return Retry()

    monkeypatch.setattr(tasks.deliver_notification, "retry", retry)
    asked.Retry = Retry
    return asked


def outbox_row(manager) -> Notification:
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    [row] = services.notify(
        incident=incident, template=Template.STATUS_UPDATE, emails=["ops@lab.example"], extra={"message": "m"}
    )
    return row


def test_a_back_off_within_the_horizon_is_a_retry(manager, failing_mail, retries):
    row = outbox_row(manager)
    Notification.objects.filter(pk=row.pk).update(attempts=4)  # the 5th attempt backs off 8 min
    with pytest.raises(retries.Retry):
        tasks.deliver_notification.run(row.pk)
    assert retries == [8 * 60]


def test_a_back_off_beyond_the_horizon_waits_in_the_outbox_for_the_sweep(manager, failing_mail, retries):
    row = outbox_row(manager)
    Notification.objects.filter(pk=row.pk).update(attempts=5)  # the 6th attempt backs off 16 min
    with at(T0):
        assert tasks.deliver_notification.run(row.pk) == "pending"
    assert retries == [], "no task waits 16 min in the broker"
    row.refresh_from_db()
    assert (row.status, row.next_attempt_at) == ("pending", T0 + timedelta(minutes=16))
    with at(T0 + timedelta(minutes=16)):
        assert services.requeue_pending() == 0, "not before it is due"
    with at(T0 + timedelta(minutes=16, seconds=30)):
        assert services.requeue_pending() == 1


def test_a_late_retry_and_the_sweep_that_requeued_it_send_once(manager, failing_mail, retries, settings):
    """requeue_pending queues a row whose retry task is 30 s late: both deliveries then run, one sends."""
    row = outbox_row(manager)
    with at(T0), pytest.raises(retries.Retry):
        tasks.deliver_notification.run(row.pk)  # 1st attempt fails: retry in 30 s
    with at(T0 + timedelta(seconds=30)):
        assert services.requeue_pending() == 0, "its retry task is due now: not queued a second time"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with at(T0 + timedelta(seconds=61)):
        assert services.requeue_pending() == 1, "the retry is late (a busy worker): queued again"
        assert tasks.deliver_notification.run(row.pk) == "sent"  # the late retry
        assert tasks.deliver_notification.run(row.pk) == "sent"  # the requeued one
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.attempts == 2


# --- the settings ----------------------------------------------------------------------------------------


def test_a_visibility_timeout_not_above_the_horizon_and_time_limit_stops_start_up():
    result = start(**PRODUCTION, ESCALATION_QUEUE_HORIZON="PT30M", CELERY_VISIBILITY_TIMEOUT="2000")
    assert result.returncode != 0
    assert "CELERY_VISIBILITY_TIMEOUT (2000 s) must be above ESCALATION_QUEUE_HORIZON" in result.stderr
    assert "(2100 s)" in result.stderr  # 30 min + the 300 s task time limit


def test_the_redis_broker_gets_the_visibility_timeout():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print('values', settings.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'], "
        "settings.ESCALATION_QUEUE_HORIZON)"
    )

    def values(result):
        return result.stdout.split("values")[-1].split()

    result = run_python(code, **PRODUCTION, CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
    assert values(result) == ["3600", "0:10:00"], result.stderr
    result = run_python(
        code,
        **PRODUCTION,
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CELERY_VISIBILITY_TIMEOUT="20",
        ESCALATION_QUEUE_HORIZON="PT10S",
        CELERY_TASK_TIME_LIMIT="8",
        CELERY_TASK_SOFT_TIME_LIMIT="6",
    )
    assert values(result) == ["20", "0:00:10"], result.stderr


def test_the_sweep_queues_any_number_of_steps_in_the_same_few_queries(
    manager, queued, django_assert_num_queries
):
    SlaPolicy.objects.filter(severity="S4").update(
        response_target=timedelta(hours=2), resolution_target=timedelta(hours=8)
    )
    with at(T0):
        for _ in range(5):
            incident_in("classified", manager=manager, urgency="low", impact="low")
    with (
        at(T0 + timedelta(hours=1, minutes=55)),
        django_assert_num_queries(4),
    ):  # one SELECT, one UPDATE, a savepoint
        assert services.queue_upcoming() == 5
    assert len(queued) == 5
