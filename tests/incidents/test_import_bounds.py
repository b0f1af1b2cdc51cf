"""Bounds on the moments a CSV import takes (issue #8, item 6): every timestamp between the earliest incident
date (`EARLIEST_INCIDENT_DATE`) and now, due times within the longest SLA target after logging, counters
within their columns. A moment outside them is a row error of the dry run and the real run alike, never a
crash of the import and never a stored row that breaks every incident list afterwards.

Run on PostgreSQL too: it stored `9999-12-31T23:00:00-05:00` (year 10000 in UTC), after which
`GET /api/v1/incidents/` answered 500 for everyone."""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command

from incidents.csv_io import COLUMNS, CsvRejected, import_incidents
from incidents.limits import MAX_SLA_TARGET
from incidents.models import Incident
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # "now" while importing
LOGGED = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
ROW = {
    "number": "INC-000800",
    "title": "SDR-2 feed silent",
    "service": "sdr-array",
    "state": "classified",
    "category": "observatory",
    "urgency": "low",
    "impact": "low",
    "detected_at": (LOGGED - timedelta(minutes=10)).isoformat(),
    "created_at": LOGGED.isoformat(),
    "response_due_at": (LOGGED + timedelta(days=1)).isoformat(),
    "resolution_due_at": (LOGGED + timedelta(days=3)).isoformat(),
}
BEFORE_2000 = "Cannot be before 2000-01-01, the earliest incident date."


@pytest.fixture(autouse=True)
def sdr_array(db):
    return ServiceFactory(slug="sdr-array")


def csv_of(**cells) -> str:
    row = {**ROW, **cells}
    return ",".join(COLUMNS) + "\r\n" + ",".join(row.get(column, "") for column in COLUMNS) + "\r\n"


def import_at(text: str, user, **kwargs):
    with time_machine.travel(NOW, tick=False):
        return import_incidents(stream=io.StringIO(text), user=user, **kwargs)


def refused(text: str, user) -> list[str]:
    """The messages of both runs, which must agree; nothing is stored."""
    stored = Incident.objects.count()
    messages = []
    for dry_run in (True, False):
        with pytest.raises(CsvRejected) as caught:
            import_at(text, user, dry_run=dry_run)
        messages.append(caught.value.messages)
    assert messages[0] == messages[1]
    assert Incident.objects.count() == stored
    return messages[0]


# --- moments out of the calendar once in UTC ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("created_at", "0001-01-01T00:00:00+01:00"),  # was an OverflowError in limits.earliest_detection
        ("detected_at", "0001-01-01T00:00:00+01:00"),
        ("response_due_at", "9999-12-31T23:00:00-05:00"),  # was stored on PostgreSQL
        ("closed_at", "9999-12-31T23:00:00-05:00"),
    ],
)
def test_a_moment_outside_the_utc_calendar_is_a_row_error(manager, column, value):
    assert refused(csv_of(**{column: value}), manager) == [
        f"row 2: {column}: '{value}' is outside the dates this system can store."
    ]


def test_the_import_command_reports_it_in_both_runs(manager, tmp_path):
    path = tmp_path / "incidents.csv"
    year_zero_in_utc = "0001-01-01T00:00:00+01:00"  # crashed with OverflowError in both runs
    path.write_text(csv_of(detected_at=year_zero_in_utc, created_at=year_zero_in_utc), encoding="utf-8")
    for options in ({"dry_run": True}, {}):
        err = io.StringIO()
        with (
            time_machine.travel(NOW, tick=False),
            pytest.raises(CommandError, match="2 errors; nothing was imported"),
        ):
            call_command("import_incidents", str(path), user="manager", stderr=err, **options)
        assert err.getvalue().splitlines() == [
            f"row 2: {column}: '{year_zero_in_utc}' is outside the dates this system can store."
            for column in ("detected_at", "created_at")
        ]
    assert not Incident.objects.exists()


# --- the earliest incident date and now ---------------------------------------------------------------------


def test_logging_in_year_one_is_refused(manager):
    text = csv_of(detected_at="0001-01-01T00:00:00+00:00", created_at="0001-01-01T00:10:00+00:00")
    assert refused(text, manager) == [
        "row 2: detected_at: Detection cannot be before 2000-01-01, the earliest incident date.",
        f"row 2: created_at: {BEFORE_2000}",
    ]


def test_the_earliest_incident_date_is_a_setting(settings, manager):
    settings.EARLIEST_INCIDENT_DATE = date(2026, 5, 1)
    text = csv_of(detected_at="2026-04-30T23:59:00+00:00")
    assert refused(text, manager) == [
        "row 2: detected_at: Detection cannot be before 2026-05-01, the earliest incident date."
    ]
    assert import_at(csv_of(detected_at="2026-05-01T00:00:00+00:00"), manager).created == 1


def test_past_moments_allow_a_clock_a_little_ahead(manager):
    no_due_times = {"response_due_at": "", "resolution_due_at": ""}
    ahead = (NOW + timedelta(minutes=2)).isoformat()
    assert import_at(csv_of(detected_at=ahead, created_at=ahead, **no_due_times), manager).created == 1
    late = (NOW + timedelta(minutes=10)).isoformat()
    text = csv_of(number="INC-000801", detected_at=late, created_at=late, **no_due_times)
    assert refused(text, manager) == [
        "row 2: detected_at: Cannot be in the future.",
        "row 2: created_at: Cannot be in the future.",
    ]


# --- due times -------------------------------------------------------------------------------------------


def test_due_times_lie_within_the_longest_sla_target_after_logging(manager):
    longest = LOGGED + MAX_SLA_TARGET
    assert refused(
        csv_of(
            response_due_at="9999-12-31T23:00:00+00:00",
            resolution_due_at=(longest + timedelta(seconds=1)).isoformat(),
        ),
        manager,
    ) == [
        "row 2: response_due_at: Cannot be more than 365 days after logging (the longest SLA target).",
        "row 2: resolution_due_at: Cannot be more than 365 days after logging (the longest SLA target) "
        "plus the time on hold.",
    ]
    # Time on hold moves the resolution due time later, as resuming does.
    held = csv_of(
        response_due_at=longest.isoformat(),
        resolution_due_at=(longest + timedelta(seconds=600)).isoformat(),
        on_hold_seconds="600",
    )
    assert import_at(held, manager).created == 1


def test_the_incident_list_still_answers_after_an_import_at_the_bounds(api_as, manager):
    # What was stored on PostgreSQL, after which the list answered 500 ("timestamp too large").
    with contextlib.suppress(CsvRejected):
        import_at(csv_of(number="INC-000801", response_due_at="9999-12-31T23:00:00-05:00"), manager)
    longest = (LOGGED + MAX_SLA_TARGET).isoformat()
    import_at(csv_of(response_due_at=longest, resolution_due_at=longest), manager)
    with time_machine.travel(NOW, tick=False):
        response = api_as(manager).get("/api/v1/incidents/")
    assert response.status_code == 200
    assert [i["number"] for i in response.json()["results"]] == ["INC-000800"]


# --- counters --------------------------------------------------------------------------------------------


def test_counters_stay_within_their_columns(manager):
    for column in ("on_hold_seconds", "reopen_count"):
        assert refused(csv_of(**{column: "99999999999"}), manager) == [
            f"row 2: {column}: At most 2147483647."
        ]


def test_time_on_hold_cannot_exceed_the_time_since_logging(manager):
    since_logging = int((NOW - LOGGED).total_seconds())
    assert refused(csv_of(on_hold_seconds=str(since_logging + 1)), manager) == [
        f"row 2: on_hold_seconds: More than the time since logging ({since_logging} seconds)."
    ]
    assert import_at(csv_of(on_hold_seconds=str(since_logging)), manager).created == 1
