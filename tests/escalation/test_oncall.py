"""Who is on call: shifts in order, handoff in the rotation's own time zone, overrides win."""

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest

from escalation.models import Rotation, RotationMember, RotationOverride
from escalation.selectors import on_call, on_call_now, on_call_schedule
from incidents.choices import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def rotation(db):
    rotation = Rotation.objects.create(
        name="Sysadmins on call",
        kind="tier2",
        shift_length=timedelta(days=7),
        handoff_time=time(9, 0),
        time_zone="Europe/Berlin",
        start_date=date(2026, 3, 2),  # a Monday
    )
    for order, name in enumerate(["ana", "ben", "cem"]):
        RotationMember.objects.create(
            rotation=rotation, user=make_user(Role.SYSADMINS, username=name), order=order
        )
    return rotation


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 3, 2, 7, 59, tzinfo=UTC), None),  # before the first handoff (09:00 CET = 08:00 UTC)
        (datetime(2026, 3, 2, 8, 0, tzinfo=UTC), "ana"),
        (datetime(2026, 3, 9, 7, 59, tzinfo=UTC), "ana"),
        (datetime(2026, 3, 9, 8, 0, tzinfo=UTC), "ben"),
        (datetime(2026, 3, 16, 8, 0, tzinfo=UTC), "cem"),
        (datetime(2026, 3, 23, 8, 0, tzinfo=UTC), "ana"),
        # After the switch to summer time (29 March) the handoff is still 09:00 local = 07:00 UTC.
        (datetime(2026, 3, 30, 6, 59, tzinfo=UTC), "ana"),
        (datetime(2026, 3, 30, 7, 0, tzinfo=UTC), "ben"),
    ],
)
def test_regular_shifts(rotation, moment, expected):
    current = on_call(kind="tier2", at=moment)
    assert (current.user.username if current.user else None) == expected


def test_override_wins_while_it_lasts(rotation):
    sub = make_user(Role.SYSADMINS, username="sub")
    RotationOverride.objects.create(
        rotation=rotation,
        user=sub,
        starts_at=datetime(2026, 3, 3, 12, tzinfo=UTC),
        ends_at=datetime(2026, 3, 4, 12, tzinfo=UTC),
        reason="ana at a conference",
    )
    assert on_call(kind="tier2", at=datetime(2026, 3, 3, 11, tzinfo=UTC)).user.username == "ana"
    current = on_call(kind="tier2", at=datetime(2026, 3, 3, 12, tzinfo=UTC))
    assert current.user == sub and current.is_override
    assert on_call(kind="tier2", at=datetime(2026, 3, 4, 12, tzinfo=UTC)).user.username == "ana"


def test_inactive_members_are_skipped_and_missing_rotation_is_none(rotation):
    assert on_call(kind="tier3", at=datetime(2026, 3, 3, tzinfo=UTC)) is None
    ben = RotationMember.objects.get(user__username="ben").user
    ben.is_active = False
    ben.save()
    assert on_call(kind="tier2", at=datetime(2026, 3, 9, 9, tzinfo=UTC)).user.username == "cem"
    assert [c.rotation.kind for c in on_call_now(at=datetime(2026, 3, 3, tzinfo=UTC))] == ["tier2"]


def test_fourteen_day_schedule_merges_overrides(rotation):
    sub = make_user(Role.SYSADMINS, username="sub")
    RotationOverride.objects.create(
        rotation=rotation,
        user=sub,
        starts_at=datetime(2026, 3, 10, 0, tzinfo=UTC),
        ends_at=datetime(2026, 3, 11, 0, tzinfo=UTC),
    )
    segments = on_call_schedule(rotation=rotation, start=date(2026, 3, 5), days=14)
    people = [(s.user.username, s.is_override) for s in segments]
    assert people == [("ana", False), ("ben", False), ("sub", True), ("ben", False), ("cem", False)]
    assert segments[0].starts_at == datetime(2026, 3, 4, 23, tzinfo=UTC)  # midnight Berlin
    assert segments[-1].ends_at == segments[0].starts_at + timedelta(days=14)
    for before, after in itertools.pairwise(segments):
        assert before.ends_at == after.starts_at
