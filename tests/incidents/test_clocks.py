"""Clocks that never mislead (issue #9, item 3): the clock that matters now, in the header and the list, its
due times with the zone, the live countdown's data, breach marks that read the right way, and the clock rules'
Python and database forms agreeing (`incidents.clocks`)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils.html import strip_tags

from incidents import clocks, services
from incidents.admin.base import due_times_text, sla_status
from incidents.choices import Clock
from incidents.models import Incident
from tests.factories import INVESTIGATION, ServiceFactory

pytestmark = pytest.mark.django_db

# Monday 2 March 2026, 23:00 in Berlin (CET, UTC+1): an S1 classified then is due a response at 23:15 and a
# resolution at 03:00 on Tuesday.
T0 = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
CHANGELIST_URL = reverse("admin:incidents_incident_changelist")


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"


def s1(manager, when=T0, title="Core switch flapping"):
    """An S1 logged and classified at `when`."""
    with at(when):
        incident = services.incident_create(user=manager, title=title, service=ServiceFactory())
        return services.incident_classify(
            incident=incident, user=manager, category="infrastructure", urgency="high", impact="high"
        )


def step(incident, name, user, when, **inputs):
    if name == "resolve":  # these S1 incidents resolve with their investigation on record
        inputs = {**INVESTIGATION, **inputs}
    with at(when):
        return services.TRANSITION_SERVICES[name](incident=incident, user=user, **inputs)


def change_page(client, incident):
    return client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()


def sla_badge_of(page):
    """The header's SLA badge: (its classes, its attributes, its text)."""
    match = re.search(r'<span class="itsm-badge itsm-sla[^"]*"[^>]*>[^<]*</span>', page) or re.search(
        r'<span class="itsm-badge itsm-sla-[^"]*"[^>]*>[^<]*</span>', page
    )
    assert match, "no SLA badge on the page"
    return match.group(0)


# --- the clock that matters now --------------------------------------------------------------------------


def test_the_response_clock_shows_until_the_first_response(manager):
    """The finding: an S1 classified at 23:00 read green "3h 59m left" until its response was already late."""
    incident = s1(manager)
    assert sla_status(incident, T0 + 5 * MIN) == ("respond in 10 min", "ok")
    # Amber once less than a quarter of the 15 minutes is left (from 23:11:15).
    assert sla_status(incident, T0 + 12 * MIN) == ("respond in 3 min", "warn")
    assert sla_status(incident, T0 + 18 * MIN) == ("response late 3 min", "breach")
    assert clocks.running_clock(incident) == Clock.RESPONSE


def test_then_the_resolution_clock(manager):
    incident = step(s1(manager), "investigate", manager, T0 + 10 * MIN)
    assert clocks.running_clock(incident) == Clock.RESOLUTION
    assert sla_status(incident, T0 + 20 * MIN) == ("resolve in 3 h 40 min", "ok")
    assert sla_status(incident, T0 + 3 * HOUR + 10 * MIN) == ("resolve in 50 min", "warn")
    assert sla_status(incident, T0 + 4 * HOUR + 20 * MIN) == ("breached 20 min ago", "breach")


def test_a_late_response_is_history_once_work_started(manager):
    incident = step(s1(manager), "investigate", manager, T0 + 20 * MIN)  # 5 minutes late
    assert incident.response_breached
    assert sla_status(incident, T0 + 30 * MIN) == ("resolve in 3 h 30 min", "ok")


def test_on_hold_the_clock_is_paused(manager):
    incident = step(s1(manager), "investigate", manager, T0 + 10 * MIN)
    incident = step(incident, "hold", manager, T0 + 2 * HOUR, reason="awaiting_vendor", note="RMA")
    assert clocks.running_clock(incident) is None
    for later in (T0 + 2 * HOUR, T0 + 2 * HOUR + 1 * MIN, T0 + 3 * 24 * HOUR):
        assert sla_status(incident, later) == ("paused · 2 h left", "paused")


def test_a_hold_begun_after_the_due_time_reads_breached(manager):
    incident = step(s1(manager), "investigate", manager, T0 + 10 * MIN)
    incident = step(incident, "hold", manager, T0 + 5 * HOUR, reason="awaiting_vendor", note="RMA")
    assert sla_status(incident, T0 + 6 * HOUR) == ("breached · paused", "breach")
    assert "Resolution breached before the hold" in due_times_text(incident, now=T0 + 6 * HOUR)


def test_on_hold_the_header_says_the_time_left_not_a_past_due_time(berlin, manager):
    incident = step(s1(manager), "investigate", manager, T0 + 10 * MIN)
    incident = step(incident, "hold", manager, T0 + 2 * HOUR, reason="awaiting_vendor", note="RMA")
    text = due_times_text(incident, now=T0 + 3 * 24 * HOUR)  # days later, the old due time long past
    assert text.startswith("Response due ") and text.endswith(" · Resolution clock paused, 2 h left")
    assert "Resolution due" not in text


def test_a_cancelled_incident_shows_no_due_times(manager):
    with at(T0):
        incident = services.incident_create(user=manager, title="Printer on fire")
        incident = services.incident_cancel(incident=incident, user=manager, reason="duplicate")
    assert due_times_text(incident, now=T0 + HOUR) == ""


def test_met_or_breached_once_resolved(manager):
    on_time = step(s1(manager), "investigate", manager, T0 + 10 * MIN)
    on_time = step(on_time, "resolve", manager, T0 + HOUR, code="fixed", notes="ok")
    late = step(s1(manager), "investigate", manager, T0 + 10 * MIN)
    late = step(late, "resolve", manager, T0 + 5 * HOUR, code="fixed", notes="late")
    assert sla_status(on_time, T0 + 30 * 24 * HOUR) == ("met", "ok")
    assert sla_status(late, T0 + 30 * 24 * HOUR) == ("breached", "breach")


def test_the_provisional_clock_runs_before_classification_and_none_after_cancelling(manager):
    with at(T0):
        logged = services.incident_create(user=manager, title="Printer on fire")
    # The default provisional severity (S3) gives a 4 h response target from logging.
    assert sla_status(logged, T0 + HOUR) == ("respond in 3 h", "ok")
    assert clocks.running_clock(logged) == Clock.RESPONSE
    cancelled = step(s1(manager), "cancel", manager, T0 + MIN, reason="duplicate")
    assert sla_status(cancelled, T0 + HOUR) == ("cancelled", "muted")
    assert clocks.running_clock(cancelled) is None


# --- Python and database forms agree ---------------------------------------------------------------------


def fleet(manager):
    """One incident for every way a clock can stand."""
    waiting = s1(manager)
    answered = step(s1(manager), "investigate", manager, T0 + 5 * MIN)
    answered_late = step(s1(manager), "investigate", manager, T0 + 20 * MIN)
    held_in_time = step(
        step(s1(manager), "investigate", manager, T0 + 5 * MIN),
        "hold",
        manager,
        T0 + HOUR,
        reason="awaiting_vendor",
        note="RMA",
    )
    held_late = step(
        step(s1(manager), "investigate", manager, T0 + 5 * MIN),
        "hold",
        manager,
        T0 + 5 * HOUR,
        reason="awaiting_user",
        note="?",
    )
    resolved_in_time = step(
        step(s1(manager), "investigate", manager, T0 + 5 * MIN),
        "resolve",
        manager,
        T0 + HOUR,
        code="fixed",
        notes="x",
    )
    resolved_late = step(
        step(s1(manager), "investigate", manager, T0 + 5 * MIN),
        "resolve",
        manager,
        T0 + 5 * HOUR,
        code="fixed",
        notes="x",
    )
    closed = step(resolved_late, "close", manager, T0 + 6 * HOUR, closure_notes="verified")
    cancelled = step(s1(manager), "cancel", manager, T0 + MIN, reason="duplicate")
    with at(T0):
        logged = services.incident_create(user=manager, title="Not classified")
    s4 = s1(manager)
    with at(T0 + MIN):
        s4 = services.incident_classify(
            incident=s4, user=manager, category="application", urgency="low", impact="low"
        )
    return [
        waiting,
        answered,
        answered_late,
        held_in_time,
        held_late,
        resolved_in_time,
        closed,
        cancelled,
        logged,
        s4,
    ]


@pytest.mark.parametrize("offset", [5 * MIN, 20 * MIN, 3 * HOUR + 45 * MIN, 7 * HOUR, 30 * 24 * HOUR])
def test_python_and_database_forms_agree(manager, offset):
    incidents = fleet(manager)
    now = T0 + offset
    soon = now + 30 * MIN
    with at(now):
        fresh = {i.pk: i for i in Incident.objects.filter(pk__in=[i.pk for i in incidents])}
        annotated = dict(
            Incident.objects.filter(pk__in=fresh)
            .annotate(due=clocks.running_due_at_expression())
            .values_list("pk", "due")
        )

        def rows(condition):
            return set(Incident.objects.filter(pk__in=fresh).filter(condition).values_list("pk", flat=True))

        assert rows(clocks.response_breached_q(now)) == {
            pk for pk, i in fresh.items() if clocks.response_breached(i, now)
        }
        assert rows(clocks.resolution_breached_q(now)) == {
            pk for pk, i in fresh.items() if clocks.resolution_breached(i, now)
        }
        assert rows(clocks.response_running_q()) == {
            pk for pk, i in fresh.items() if clocks.response_running(i)
        }
        assert rows(clocks.resolution_running_q()) == {
            pk for pk, i in fresh.items() if clocks.resolution_running(i)
        }
        assert annotated == {pk: clocks.running_due_at(i) for pk, i in fresh.items()}
        assert rows(clocks.running_due_before_q(soon)) == {
            pk for pk, i in fresh.items() if clocks.running_due_at(i) and clocks.running_due_at(i) < soon
        }
        # The model's properties and queryset are these rules.
        for incident in fresh.values():
            assert incident.response_breached == clocks.response_breached(incident, now)
            assert incident.resolution_breached == clocks.resolution_breached(incident, now)
        assert set(Incident.objects.filter(pk__in=fresh).breached().values_list("pk", flat=True)) == rows(
            clocks.response_breached_q(now) | clocks.resolution_breached_q(now)
        )


# --- the header and the list -----------------------------------------------------------------------------


def test_header_shows_the_response_clock_and_both_due_times_with_the_zone(client, manager, berlin):
    incident = s1(manager)
    client.force_login(manager)
    with at(T0 + 5 * MIN):
        page = change_page(client, incident)
    badge = sla_badge_of(page)
    assert strip_tags(badge) == "respond in 10 min"
    assert "itsm-sla-ok" in badge
    due_times = re.search(r'<span class="itsm-meta itsm-due-times">(.*?)</span>\s*\n', page, flags=re.S)
    assert due_times, "no due times in the header"
    assert strip_tags(due_times.group(1)) == "Response due 23:15 CET · Resolution due Tue 03:00 CET"
    assert 'title="2026-03-03 03:00 CET"' in due_times.group(1)


def test_badges_carry_their_due_time_for_the_live_countdown(client, manager, berlin):
    waiting = s1(manager, title="waiting")
    working = step(s1(manager, title="working"), "investigate", manager, T0 + 5 * MIN)
    held = step(
        step(s1(manager, title="held"), "investigate", manager, T0 + 5 * MIN),
        "hold",
        manager,
        T0 + HOUR,
        reason="awaiting_vendor",
        note="RMA",
    )
    client.force_login(manager)
    with at(T0 + 6 * MIN):
        header = sla_badge_of(change_page(client, waiting))
        listing = client.get(CHANGELIST_URL).content.decode()
        held_header = sla_badge_of(change_page(client, held))
    assert 'data-due="2026-03-02T22:15:00+00:00"' in header
    assert 'data-warn="2026-03-02T22:11:15+00:00"' in header
    assert 'data-in-time="respond in {}"' in header and 'data-late="response late {}"' in header
    # The list's SLA column: the same compact badge, with the clock that runs for each row.
    assert re.search(r'data-due="2026-03-02T22:15:00\+00:00"[^>]*>respond in 9 min</span>', listing)
    assert re.search(r'data-due="2026-03-03T02:00:00\+00:00"[^>]*>resolve in 3 h 54 min</span>', listing)
    assert working.resolution_due_at.isoformat() == "2026-03-03T02:00:00+00:00"
    # A paused clock does not count down.
    assert "data-due" not in held_header and "paused · 3 h left" in held_header
    # The countdown script is on both pages.
    assert "incidents/clocks.js" in listing


def test_the_countdown_script_is_served(client):
    from django.contrib.staticfiles import finders

    path = finders.find("incidents/clocks.js")
    assert path, "incidents/clocks.js is not a static file"
    with open(path) as script:
        text = script.read()
    assert "data-due" in text or "dataset.due" in text


# --- breach marks ----------------------------------------------------------------------------------------


def breach_field(page, name):
    box = page.split(f"fieldBox field-{name}", 1)[1]
    match = re.search(r'<div class="readonly">(.*?)</div>', box, flags=re.S)
    return match.group(1)


def test_breach_marks_read_the_right_way(client, manager):
    """A met target reads "No" with a tick, a breached one "Yes" with a red cross (they were reversed)."""
    incident = step(s1(manager), "investigate", manager, T0 + 5 * MIN)  # responded in time
    incident = step(incident, "resolve", manager, T0 + 5 * HOUR, code="fixed", notes="late")  # resolved late
    client.force_login(manager)
    with at(T0 + 6 * HOUR):
        page = change_page(client, incident)
    response, resolution = (
        breach_field(page, "response_breached_display"),
        breach_field(page, "resolution_breached_display"),
    )
    assert strip_tags(response).strip() == "No" and "icon-yes.svg" in response and "icon-no" not in response
    assert strip_tags(resolution).strip() == "Yes" and "icon-no.svg" in resolution
    assert "itsm-breach-yes" in resolution
