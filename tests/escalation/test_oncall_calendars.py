"""On call in people's calendars: a feed per rotation (everyone's shifts, overrides included) and per person
(their shifts in every rotation), built by the same rule that pages them, behind secret addresses that can
be reset; and the rotation admin's warnings about stretches nobody covers in the next 14 days."""

import itertools
from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from escalation.models import CalendarFeed, Rotation, RotationMember, RotationOverride
from escalation.selectors import feed_window, on_call, on_call_gaps, on_call_schedule
from escalation.services import calendars
from incidents.choices import Role
from incidents.exceptions import PermissionDenied
from itsm.log_filters import MASK, redact
from tests.factories import make_user

pytestmark = pytest.mark.django_db

# A Tuesday. TIME_ZONE is UTC: every feed runs from midnight 28 April to midnight 30 June.
NOW = datetime(2026, 5, 5, 10, 0, tzinfo=UTC)
WINDOW_BEGIN = datetime(2026, 4, 28, tzinfo=UTC)
WINDOW_END = datetime(2026, 6, 30, tzinfo=UTC)
ROTATIONS_URL = reverse("admin:escalation_rotation_changelist")
SCHEDULE_URL = reverse("admin:escalation_rotation_schedule")
MY_CALENDAR_URL = reverse("admin:escalation_calendarfeed_mine")


def at(month, day, hour=0, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sysadmins(db):
    """Weekly shifts from Monday 4 May, handing off at 09:00 Berlin (07:00 UTC in summer): ana, then ben.
    sub covers ana from Wednesday noon to Thursday noon."""
    rotation = Rotation.objects.create(
        name="Sysadmins on call",
        kind="tier2",
        shift_length=timedelta(days=7),
        handoff_time=time(9, 0),
        time_zone="Europe/Berlin",
        start_date=date(2026, 5, 4),
    )
    for order, name in enumerate(["ana", "ben"]):
        user = make_user(Role.SYSADMINS, username=name, first_name=name.capitalize(), last_name="Lab")
        RotationMember.objects.create(rotation=rotation, user=user, order=order)
    RotationOverride.objects.create(
        rotation=rotation,
        user=make_user(Role.SYSADMINS, username="sub", first_name="Sub", last_name="Lab"),
        starts_at=at(5, 6, 12),
        ends_at=at(5, 7, 12),
        reason="ana at a conference",
    )
    return rotation


@pytest.fixture
def desk_rotation(sysadmins):
    """A second rotation ana takes part in alone: daily from 1 June, 08:00 UTC."""
    rotation = Rotation.objects.create(
        name="Service desk on call",
        kind="tier1",
        shift_length=timedelta(days=1),
        handoff_time=time(8, 0),
        time_zone="UTC",
        start_date=date(2026, 6, 1),
    )
    RotationMember.objects.create(rotation=rotation, user=sysadmins.members.get(order=0).user, order=0)
    return rotation


def fetch(url_or_feed):
    url = url_or_feed if isinstance(url_or_feed, str) else feed_path(url_or_feed)
    return Client().get(url)


def feed_path(feed):
    return reverse("oncall-calendar", kwargs={"token": feed.token})


def events(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    return [
        (str(event["SUMMARY"]), event.decoded("DTSTART"), event.decoded("DTEND"))
        for event in calendar.walk("VEVENT")
    ]


# --- the feeds ------------------------------------------------------------------------------------------


def test_a_rotation_feed_holds_everyones_shifts_overrides_and_gaps(sysadmins):
    calendar = icalendar.Calendar.from_ical(
        fetch(calendars.calendar_feed_for_rotation(rotation=sysadmins)).content
    )
    assert str(calendar["X-WR-CALNAME"]) == "On call: Sysadmins on call"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in calendar.to_ical()
    assert b"X-PUBLISHED-TTL:PT1H" in calendar.to_ical()
    found = events(fetch(calendars.calendar_feed_for_rotation(rotation=sysadmins)))
    assert found[:6] == [
        ("Nobody on call: Sysadmins on call", WINDOW_BEGIN, at(5, 4, 7)),  # before the first handoff
        ("Ana Lab on call: Sysadmins on call", at(5, 4, 7), at(5, 6, 12)),
        ("Sub Lab on call: Sysadmins on call (override)", at(5, 6, 12), at(5, 7, 12)),
        ("Ana Lab on call: Sysadmins on call", at(5, 7, 12), at(5, 11, 7)),
        ("Ben Lab on call: Sysadmins on call", at(5, 11, 7), at(5, 18, 7)),
        ("Ana Lab on call: Sysadmins on call", at(5, 18, 7), at(5, 25, 7)),
    ]
    assert found[-1] == ("Ana Lab on call: Sysadmins on call", at(6, 29, 7), WINDOW_END)
    for before, after in itertools.pairwise(found):
        assert before[2] == after[1], "the events tile the window"
    uids = [str(event["UID"]) for event in calendar.walk("VEVENT")]
    assert len(set(uids)) == len(uids)


def test_a_feed_agrees_with_who_is_paged(sysadmins):
    """The feed and the pager read one rule: at every event's start, `on_call` names the same person."""
    feed = calendars.calendar_feed_for_rotation(rotation=sysadmins)
    calendar = icalendar.Calendar.from_ical(fetch(feed).content)
    for event in calendar.walk("VEVENT"):
        current = on_call(kind="tier2", at=event.decoded("DTSTART"))
        name = current.user.get_full_name() if current.user else "Nobody"
        assert str(event["SUMMARY"]).startswith(name)


def test_event_uids_stay_the_same_on_refresh(sysadmins):
    feed = calendars.calendar_feed_for_rotation(rotation=sysadmins)
    first = icalendar.Calendar.from_ical(fetch(feed).content)
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        again = icalendar.Calendar.from_ical(fetch(feed).content)
    assert [str(e["UID"]) for e in first.walk("VEVENT")] == [str(e["UID"]) for e in again.walk("VEVENT")]


def test_a_persons_feed_holds_their_shifts_in_every_rotation(desk_rotation, sysadmins):
    ana = sysadmins.members.get(order=0).user
    found = events(fetch(calendars.calendar_feed_for_user(user=ana)))
    assert found[:3] == [
        ("On call: Sysadmins on call", at(5, 4, 7), at(5, 6, 12)),  # sub covers her from Wednesday noon
        ("On call: Sysadmins on call", at(5, 7, 12), at(5, 11, 7)),
        ("On call: Sysadmins on call", at(5, 18, 7), at(5, 25, 7)),
    ]
    assert ("On call: Service desk on call", at(6, 1, 8), WINDOW_END) in found
    assert [summary for summary, *_ in found].count("On call: Sysadmins on call") == 6
    assert all("override" not in summary for summary, *_ in found)


def test_whoever_covers_an_override_finds_it_in_their_feed(sysadmins):
    sub = RotationOverride.objects.get().user
    assert events(fetch(calendars.calendar_feed_for_user(user=sub))) == [
        ("On call: Sysadmins on call (override)", at(5, 6, 12), at(5, 7, 12))
    ]
    ben = sysadmins.members.get(order=1).user
    assert len(events(fetch(calendars.calendar_feed_for_user(user=ben)))) == 4


def test_someone_on_call_nowhere_gets_an_empty_calendar(sysadmins):
    calendar = icalendar.Calendar.from_ical(fetch(calendars.calendar_feed_for_user(user=make_user())).content)
    assert calendar.walk("VEVENT") == []


# --- secret addresses -----------------------------------------------------------------------------------


def test_a_wrong_token_is_a_404(sysadmins):
    feed = calendars.calendar_feed_for_rotation(rotation=sysadmins)
    assert fetch(reverse("oncall-calendar", kwargs={"token": "x" * 43})).status_code == 404
    assert fetch(reverse("oncall-calendar", kwargs={"token": feed.token[:-1]})).status_code == 404
    assert fetch(feed).status_code == 200
    for bad in ("abc%00def", "a%2Fb", "a.b", "x" * 65):  # never reaches the database (NUL on PostgreSQL: 500)
        assert fetch(f"/calendars/{bad}.ics").status_code == 404, bad


def test_tokens_are_long_random_and_one_per_owner(sysadmins):
    ana = sysadmins.members.get(order=0).user
    mine = calendars.calendar_feed_for_user(user=ana)
    assert calendars.calendar_feed_for_user(user=ana) == mine
    rotation_feed = calendars.calendar_feed_for_rotation(rotation=sysadmins)
    assert len(mine.token) >= 43 and len(rotation_feed.token) >= 43  # 256 random bits, url-safe
    assert mine.token != rotation_feed.token


def test_a_reset_token_stops_the_old_address(sysadmins):
    ana = sysadmins.members.get(order=0).user
    feed = calendars.calendar_feed_for_user(user=ana)
    old_path = feed_path(feed)
    assert fetch(old_path).status_code == 200
    reset = calendars.calendar_feed_reset(feed=feed, user=ana)
    assert fetch(old_path).status_code == 404
    assert reset.token != feed.token and fetch(feed_path(reset)).status_code == 200


def test_only_incident_managers_reset_someone_elses_address(sysadmins, manager):
    ana, ben = (m.user for m in sysadmins.members.order_by("order"))
    feed = calendars.calendar_feed_for_user(user=ana)
    with pytest.raises(PermissionDenied):
        calendars.calendar_feed_reset(feed=feed, user=ben)
    with pytest.raises(PermissionDenied):
        calendars.calendar_feed_reset(feed=calendars.calendar_feed_for_rotation(rotation=sysadmins), user=ana)
    assert calendars.calendar_feed_reset(feed=feed, user=manager).token != feed.token


def test_a_deactivated_accounts_feed_is_gone(sysadmins):
    ana = sysadmins.members.get(order=0).user
    feed = calendars.calendar_feed_for_user(user=ana)
    ana.is_active = False
    ana.save()
    assert fetch(feed).status_code == 404


def test_calendar_tokens_stay_out_of_the_logs():
    token = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6"
    assert redact(f"Not Found: /calendars/{token}.ics") == f"Not Found: /calendars/{MASK}"


# --- in the admin ---------------------------------------------------------------------------------------


def test_your_calendar_page_shows_your_address_and_resets_it(client, sysadmins):
    ana = sysadmins.members.get(order=0).user
    client.force_login(ana)
    page = client.get(MY_CALENDAR_URL)
    assert page.status_code == 200
    feed = CalendarFeed.objects.get(user=ana)
    text = page.content.decode()
    assert f"{settings.SITE_URL.rstrip('/')}/calendars/{feed.token}.ics" in text
    assert "webcal://" in text
    assert "Sysadmins on call" in text, "her next shifts are listed"

    response = client.post(MY_CALENDAR_URL)
    assert response.status_code == 302
    assert fetch(feed).status_code == 404
    assert fetch(CalendarFeed.objects.get(user=ana)).status_code == 200


def test_the_rotation_page_and_schedule_show_the_rotation_address(client, manager, sysadmins):
    client.force_login(manager)
    change = client.get(reverse("admin:escalation_rotation_change", args=[sysadmins.pk]))
    assert change.status_code == 200
    feed = CalendarFeed.objects.get(rotation=sysadmins)
    assert f"/calendars/{feed.token}.ics" in change.content.decode()
    schedule = client.get(SCHEDULE_URL)
    assert f"/calendars/{feed.token}.ics" in schedule.content.decode()
    assert MY_CALENDAR_URL in schedule.content.decode()


def test_the_reset_action_gives_a_rotation_a_new_address(client, manager, sysadmins):
    feed = calendars.calendar_feed_for_rotation(rotation=sysadmins)
    client.force_login(manager)
    response = client.post(
        ROTATIONS_URL, {"action": "reset_calendar_addresses", "_selected_action": [sysadmins.pk]}, follow=True
    )
    assert response.status_code == 200
    assert any("New calendar address" in str(m) for m in response.context["messages"])
    assert fetch(feed).status_code == 404
    assert fetch(CalendarFeed.objects.get(rotation=sysadmins)).status_code == 200


def test_the_reset_action_is_for_incident_managers(client, sysadmins):
    ana = sysadmins.members.get(order=0).user
    feed = calendars.calendar_feed_for_rotation(rotation=sysadmins)
    client.force_login(ana)  # reads rotations, may not reset their address
    response = client.post(
        ROTATIONS_URL, {"action": "reset_calendar_addresses", "_selected_action": [sysadmins.pk]}
    )
    assert response.status_code in (200, 302, 403)
    assert fetch(feed).status_code == 200


def test_incident_managers_list_every_address_and_reset_any(client, manager, sysadmins):
    ana = sysadmins.members.get(order=0).user
    personal = calendars.calendar_feed_for_user(user=ana)
    shared = calendars.calendar_feed_for_rotation(rotation=sysadmins)
    client.force_login(manager)
    listing = client.get(reverse("admin:escalation_calendarfeed_changelist"))
    assert listing.status_code == 200
    text = listing.content.decode()
    assert shared.token in text, "a rotation's address is for sharing"
    assert personal.token not in text and personal.token[:4] in text, "a person's address stays theirs"
    client.post(
        reverse("admin:escalation_calendarfeed_changelist"),
        {"action": "reset_addresses", "_selected_action": [personal.pk]},
    )
    assert fetch(personal).status_code == 404


def test_only_incident_managers_see_the_list_of_addresses(client, sysadmins):
    client.force_login(sysadmins.members.get(order=0).user)
    assert client.get(reverse("admin:escalation_calendarfeed_changelist")).status_code == 403


# --- gaps -----------------------------------------------------------------------------------------------


def test_a_covered_rotation_has_no_gaps(sysadmins):
    assert on_call_gaps(rotation=sysadmins) == []


def test_a_rotation_that_starts_later_has_a_gap_until_it_does(db):
    rotation = Rotation.objects.create(
        name="Experts on call",
        kind="tier3",
        shift_length=timedelta(days=7),
        handoff_time=time(9, 0),
        time_zone="UTC",
        start_date=date(2026, 5, 12),
    )
    RotationMember.objects.create(rotation=rotation, user=make_user(Role.EXPERTS, username="eve"), order=0)
    (gap,) = on_call_gaps(rotation=rotation)
    assert (gap.starts_at, gap.ends_at) == (NOW, at(5, 12, 9))
    # The 14-day schedule shows eve from her first handoff (it used to show nobody for the whole window).
    people = [(s.user.username if s.user else None, s.starts_at) for s in on_call_schedule(rotation=rotation)]
    assert people == [(None, at(5, 5)), ("eve", at(5, 12, 9))]


def test_an_override_by_a_deactivated_account_covers_nobody(sysadmins):
    sub = RotationOverride.objects.get().user
    sub.is_active = False
    sub.save()
    assert on_call(kind="tier2", at=at(5, 6, 13)).user.username == "ana"
    segments = on_call_schedule(rotation=sysadmins, start=date(2026, 5, 5))
    assert all(segment.user != sub for segment in segments)


def test_the_rotation_admin_warns_about_gaps(client, manager, sysadmins):
    uncovered = Rotation.objects.create(
        name="Experts on call",
        kind="tier3",
        shift_length=timedelta(days=7),
        handoff_time=time(9, 0),
        time_zone="UTC",
        start_date=date(2026, 5, 12),
    )
    RotationMember.objects.create(rotation=uncovered, user=make_user(Role.EXPERTS, username="eve"), order=0)
    client.force_login(manager)
    warnings = [str(m) for m in client.get(ROTATIONS_URL).context["messages"]]
    assert warnings == [
        "Experts on call: nobody is on call Tue 2026-05-05 10:00 to Tue 2026-05-12 09:00 (UTC) in the next "
        "14 days. The whole group is notified then; add members or overrides to cover it."
    ]
    change = client.get(reverse("admin:escalation_rotation_change", args=[uncovered.pk]))
    assert any("nobody is on call" in str(m) for m in change.context["messages"])
    covered = client.get(reverse("admin:escalation_rotation_change", args=[sysadmins.pk]))
    assert not any("nobody is on call" in str(m) for m in covered.context["messages"])
    assert "Experts on call: nobody is on call" in client.get(SCHEDULE_URL).content.decode()


def test_a_rotation_without_members_is_one_long_gap(client, manager, sysadmins):
    RotationMember.objects.filter(rotation=sysadmins).delete()
    RotationOverride.objects.all().delete()
    (gap,) = on_call_gaps(rotation=sysadmins)
    assert (gap.starts_at, gap.ends_at) == (NOW, NOW + timedelta(days=14))


def test_every_gap_is_named_in_the_warning(client, manager, sysadmins):
    RotationMember.objects.filter(rotation=sysadmins).delete()
    client.force_login(manager)
    (warning,) = [str(m) for m in client.get(ROTATIONS_URL).context["messages"]]
    # Nobody but sub's override (6 May 12:00 to 7 May 12:00 UTC): before it and after it.
    assert (
        "Tue 2026-05-05 12:00 to Wed 2026-05-06 14:00; Thu 2026-05-07 14:00 to Tue 2026-05-19 12:00"
        in warning
    )


def test_the_window_is_the_sites_whoever_looks(sysadmins):
    """The page listing your shifts runs in your own zone; the feed's window stays the site's."""
    with timezone.override("Pacific/Kiritimati"):  # UTC+14: already 6 May there
        assert feed_window() == (WINDOW_BEGIN, WINDOW_END)
