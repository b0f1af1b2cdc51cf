"""A webhook receiver that fails for five minutes under a stream of events loses nothing, receives nothing
twice (by `webhook-id`) and gets each incident's events in order; every delivery checks out with the
`standardwebhooks` library. The worker is played by calling the delivery task's service at each moment a
task, a retry or the sweep would run it, in a shuffled order and each task twice; time-machine moves the
clock."""

import random
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from escalation import services
from escalation.models import Notification, Webhook
from incidents import services as incident_services
from tests.escalation.webhook_receiver import deliver_due
from tests.factories import INVESTIGATION, ServiceFactory

pytestmark = pytest.mark.django_db

EVENTS = [
    "incident.created",
    "incident.classified",
    "incident.state_changed",
    "incident.escalated",
    "incident.resolved",
    "incident.closed",
]
TICK = timedelta(seconds=5)


def lifecycle_steps(manager, service, title):
    """An incident's life, one step at a time (each raises one or two events)."""
    state = {}

    def create():
        state["incident"] = incident_services.incident_create(user=manager, title=title, service=service)

    def classify():
        state["incident"] = incident_services.incident_classify(
            incident=state["incident"], user=manager, category="infrastructure", urgency="low", impact="low"
        )

    def investigate():
        state["incident"] = incident_services.incident_investigate(incident=state["incident"], user=manager)

    def escalate():
        services.escalate_tier(incident=state["incident"], user=manager, reason="needs Tier 2")

    def resolve():
        state["incident"] = incident_services.incident_resolve(
            incident=state["incident"], user=manager, code="fixed", notes="fixed", **INVESTIGATION
        )

    def close():
        state["incident"] = incident_services.incident_close(
            incident=state["incident"], user=manager, closure_notes="verified"
        )

    return [create, classify, investigate, escalate, resolve, close]


def test_a_receiver_failing_for_five_minutes_loses_and_duplicates_nothing_and_keeps_order(
    manager, signed_receiver
):
    hook = Webhook.objects.create(name="automation", url=signed_receiver.url, events=EVENTS)
    signed_receiver.secret = hook.secret
    service = ServiceFactory(slug="ceph")
    # Six incidents' lives interleaved: one step every 15 s, for 9 minutes.
    lives = [lifecycle_steps(manager, service, f"OSD {n} down") for n in range(6)]
    stream = [life[step] for step in range(6) for life in lives]
    rng = random.Random(20261201)

    start = timezone.now().replace(microsecond=0)
    outage_from, outage_until = start + timedelta(minutes=1), start + timedelta(minutes=6)
    raised_during_outage = 0
    with time_machine.travel(start, tick=False) as clock:
        now = start
        while now < start + timedelta(minutes=40):
            signed_receiver.failing = outage_from <= now < outage_until
            if stream and (now - start).total_seconds() % 15 == 0:
                stream.pop(0)()
                raised_during_outage += signed_receiver.failing
            deliver_due(now, order=rng.shuffle, twice=True)
            now += TICK
            clock.move_to(now)

    rows = list(Notification.objects.filter(webhook=hook).order_by("pk"))
    assert len(rows) == 6 * 9 and raised_during_outage >= 15
    assert {row.status for row in rows} == {"sent"}, "nothing lost"

    assert signed_receiver.refused == [], "every delivery verified with standardwebhooks"
    failed = [attempt for attempt in signed_receiver.attempts if attempt[1] == 500]
    assert len(failed) >= 6, "the outage was felt"
    accepted = Counter(signed_receiver.accepted_ids())
    assert set(accepted) == {row.message_id for row in rows}, "every event arrived"
    assert max(accepted.values()) == 1, "none twice"

    arrived = {message_id: n for n, message_id in enumerate(signed_receiver.accepted_ids())}
    for incident_id in {row.incident_id for row in rows}:
        raised = [row.message_id for row in rows if row.incident_id == incident_id]
        assert sorted(raised, key=arrived.get) == raised, "each incident's events in the order raised"
        events = [p["event"] for i, p in signed_receiver.accepted if i in raised]
        assert events[0] == "incident.created" and events[-1] == "incident.closed"

    hook.refresh_from_db()
    assert hook.paused_at is None and hook.failing_since is None and hook.consecutive_failures == 0
    last_sent = max(row.sent_at for row in rows)
    assert last_sent < outage_until + timedelta(minutes=10), "caught up within one back-off of recovery"


def test_one_refused_delivery_backs_off_and_holds_up_only_its_own_incident(manager, signed_receiver):
    """The receiver refuses one message while it takes everything else, every 10 s: the refused one is
    retried on its back-off (not after each success of the others), its incident's later events wait
    behind it, the other incidents' flow."""
    hook = Webhook.objects.create(name="automation", url=signed_receiver.url, events=EVENTS)
    signed_receiver.secret = hook.secret
    service = ServiceFactory()
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as clock:
        stuck = incident_services.incident_create(user=manager, title="Refused", service=service)
        [poison] = Notification.objects.filter(webhook=hook, incident=stuck)
        signed_receiver.failing_ids = {poison.message_id}
        incident_services.incident_investigate(
            incident=incident_services.incident_classify(
                incident=stuck, user=manager, category="infrastructure", urgency="low", impact="low"
            ),
            user=manager,
        )
        for n in range(180):  # 30 minutes of other incidents' traffic
            incident_services.incident_create(user=manager, title=f"flowing {n}", service=service)
            deliver_due(timezone.now())
            clock.shift(timedelta(seconds=10))
    tries = [status for message_id, status in signed_receiver.attempts if message_id == poison.message_id]
    assert 6 <= len(tries) <= 9, "30 s, 1, 2, 4, 8, 16 min: on its back-off"
    assert set(tries) == {500}
    held = Notification.objects.filter(webhook=hook, incident=stuck).exclude(pk=poison.pk)
    assert held.count() == 3 and set(held.values_list("status", flat=True)) == {"pending"}
    assert Notification.objects.filter(webhook=hook, status="sent").count() == 180
