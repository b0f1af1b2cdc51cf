"""CSV export and import (`incidents.csv_io`, `export_incidents` / `import_incidents` commands): exact
columns, a lossless round trip, all-or-nothing validation with row numbers, idempotency by number, the
number sequence and history kept right."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import services
from incidents.choices import EventKind, Role, State
from incidents.csv_io import COLUMNS, CsvRejected, export_incidents, import_incidents
from incidents.exceptions import PermissionDenied
from incidents.models import Incident, NumberSequence, Service, TimelineEvent
from tests.factories import INVESTIGATION, ServiceFactory, incident_in, make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # "now" while importing: after every imported moment

VALID = {
    "number": "INC-000500",
    "title": "SDR-2 feed silent",
    "service": "sdr-array",
    "category": "observatory",
    "incident_type": "sdr_failure",
    "source": "monitoring",
    "urgency": "high",
    "impact": "high",
    "severity": "S1",
    "state": "closed",
    "tier": "tier2",
    "assignee": "sysadmin",
    "is_major": "false",
    "detected_at": "2025-10-01T07:50:00+00:00",
    "created_at": "2025-10-01T08:00:00+00:00",
    "first_response_at": "2025-10-01T08:10:00+00:00",
    "response_due_at": "2025-10-01T08:15:00+00:00",
    "resolution_due_at": "2025-10-01T12:00:00+00:00",
    "on_hold_seconds": "0",
    "resolved_at": "2025-10-01T12:00:00+02:00",
    "closed_at": "2025-10-02T09:00:00+00:00",
    "reopen_count": "0",
    "resolution_code": "fixed",
}


def at(moment, tick=False):
    return time_machine.travel(moment, tick=tick)


def csv_text(*rows, columns=COLUMNS):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**VALID, **row})
    return out.getvalue()


def do_import(text, user, **kwargs):
    with at(NOW):
        return import_incidents(stream=io.StringIO(text), user=user, **kwargs)


def export_text(start=date(2026, 3, 1), end=date(2026, 4, 1)):
    out = io.StringIO()
    export_incidents(start=start, end=end, stream=out)
    return out.getvalue()


def rows_of(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def sdr_array(db):
    return ServiceFactory(slug="sdr-array", name="SDR receiver array")


@pytest.fixture
def csv_file(tmp_path):
    def write(text, name="incidents.csv"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


# --- export ----------------------------------------------------------------------------------------------


def test_export_writes_every_column_of_a_known_incident(manager, sysadmin):
    ceph = ServiceFactory(slug="ceph", name="Ceph storage")
    with at(T0):
        incident = services.incident_create(
            user=manager,
            title="Ceph OSD down on pve-03",
            service=ceph,
            incident_type="host_failure",
            source="operations",
            detected_at=T0 - timedelta(minutes=10),
        )
    with at(T0 + timedelta(minutes=5)):
        services.incident_classify(
            incident=incident, user=manager, category="infrastructure", urgency="high", impact="medium"
        )
    with at(T0 + timedelta(minutes=12)):
        services.incident_investigate(incident=incident, user=manager, assignee=sysadmin)
    with at(T0 + timedelta(hours=2)):
        migrate_vms = incident.checklist.get(required=True)
        services.checklist_item_skip(item=migrate_vms, user=sysadmin, reason="Only an OSD failed")
        services.incident_resolve(
            incident=incident, user=sysadmin, code="fixed", notes="Replaced the disk", **INVESTIGATION
        )
    with at(T0 + timedelta(hours=3)):
        services.incident_close(incident=incident, user=manager, closure_notes="verified")

    text = export_text()

    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert rows_of(text) == [
        {
            "number": incident.number,
            "title": "Ceph OSD down on pve-03",
            "service": "ceph",
            "category": "infrastructure",
            "incident_type": "host_failure",
            "source": "operations",
            "urgency": "high",
            "impact": "medium",
            "severity": "S2",
            "state": "closed",
            "tier": "tier2",  # followed its tier-2 assignee
            "assignee": "sysadmin",
            "is_major": "false",
            "detected_at": "2026-03-02T08:50:00+00:00",
            "created_at": "2026-03-02T09:00:00+00:00",
            "first_response_at": "2026-03-02T09:12:00+00:00",
            "response_due_at": "2026-03-02T09:30:00+00:00",  # S2: 30 min response
            "resolution_due_at": "2026-03-02T17:00:00+00:00",  # S2: 8 h resolution
            "on_hold_seconds": "0",
            "resolved_at": "2026-03-02T11:00:00+00:00",
            "closed_at": "2026-03-02T12:00:00+00:00",
            "reopen_count": "0",
            "resolution_code": "fixed",
            "caller": "",  # staff logging for nobody else: no caller
            "caller_name": "",
            "caller_email": "",
        }
    ]


def test_export_empty_cells_for_nothing_and_ordered_by_number(manager):
    with at(T0 + timedelta(hours=1)):
        later = services.incident_create(user=manager, title="Second")
    with at(T0):
        earlier = services.incident_create(user=manager, title="First")
    rows = rows_of(export_text())
    assert [row["number"] for row in rows] == sorted([later.number, earlier.number])
    logged = rows[0]
    assert (logged["state"], logged["severity"]) == ("logged", "S3")  # the provisional severity of logging
    for column in ("service", "assignee", "first_response_at", "resolved_at", "closed_at"):
        assert logged[column] == "", column


def test_export_days_and_offsets_are_in_the_configured_time_zone(manager, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    with at(datetime(2026, 3, 1, 23, 30, tzinfo=UTC)):  # 2 March 00:30 in Berlin
        march_2 = services.incident_create(user=manager, title="Just after midnight in Berlin")
    with at(datetime(2026, 6, 30, 21, 59, tzinfo=UTC)):  # 30 June 23:59 summer time
        services.incident_create(user=manager, title="Last minute of June")

    (row,) = rows_of(export_text(start=date(2026, 3, 2), end=date(2026, 3, 3)))
    assert row["number"] == march_2.number
    assert row["created_at"] == "2026-03-02T00:30:00+01:00"
    assert rows_of(export_text(start=date(2026, 3, 1), end=date(2026, 3, 2))) == []
    (june,) = rows_of(export_text(start=date(2026, 6, 30), end=date(2026, 7, 1)))
    assert june["created_at"] == "2026-06-30T23:59:00+02:00"


def test_export_runs_the_same_queries_for_one_incident_or_many(manager, sysadmin):
    def queries_for_export():
        with CaptureQueriesContext(connection) as ctx:
            export_text()
        return len(ctx.captured_queries)

    with at(T0):
        incident_in(State.INVESTIGATING, manager=manager)
    one = queries_for_export()
    for hours in range(1, 5):
        with at(T0 + timedelta(hours=hours)):
            incident_in(State.CLOSED, manager=manager, service=ServiceFactory())
    assert queries_for_export() == one == 1


def test_export_rejects_an_empty_period():
    with pytest.raises(Exception, match="end date must come after"):
        export_text(start=date(2026, 3, 2), end=date(2026, 3, 2))


# --- round trip ------------------------------------------------------------------------------------------


def build_history(manager, sysadmin):
    """Incidents in every state, reopened, on hold and resumed, overridden, escalated and major."""
    made = []
    for i, state in enumerate(State.values):
        with at(T0 + timedelta(hours=i), tick=True):
            made.append(incident_in(state, manager=manager, urgency="medium", impact="low"))
    with at(T0 + timedelta(days=1), tick=True):
        reopened = incident_in(State.RESOLVED, manager=manager, title='=HYPERLINK("x")')
        services.incident_reopen(incident=reopened, user=manager, reason="Came back")
        services.incident_resolve(
            incident=reopened, user=manager, code="workaround", notes="Rebooted", **INVESTIGATION
        )
    with at(T0 + timedelta(days=2), tick=True):
        held = incident_in(State.ON_HOLD, manager=manager, title='Quotes "and", commas, one line')
    with at(T0 + timedelta(days=2, hours=3), tick=True):
        services.incident_resume(incident=held, user=manager, note="Vendor shipped the part")
        services.incident_hold(incident=held, user=manager, reason="awaiting_user", note="Waiting on PI")
    with at(T0 + timedelta(days=3), tick=True):
        overridden = services.incident_create(
            user=manager, title="'quoted title", detected_at=T0 + timedelta(days=2, hours=20)
        )
        services.incident_classify(
            incident=overridden,
            user=manager,
            category="security",
            urgency="low",
            impact="low",
            severity="S1",
            severity_reason="Possible breach",
        )
        services.incident_set_tier(
            incident=overridden, user=manager, tier="tier2", assignee=sysadmin, reason="Needs root"
        )
        services.incident_set_major(incident=overridden, user=manager, is_major=True, reason="Breach")
    return [*made, reopened, held, overridden]


def forget_incidents():
    """An empty incident database: incidents with their timelines and history rows."""
    TimelineEvent.objects.all().delete()
    Incident.objects.all().delete()
    Incident.history.all().delete()


def test_export_then_import_into_an_empty_database_round_trips(manager, sysadmin):
    build_history(manager, sysadmin)
    exported = export_text()
    assert len(rows_of(exported)) == len(State.values) + 3
    forget_incidents()

    result = do_import(exported, manager)

    assert (result.created, result.unchanged, result.skipped_existing) == (len(State.values) + 3, 0, [])
    assert export_text() == exported  # same rows, same values, byte for byte
    titles = set(Incident.objects.values_list("title", flat=True))
    assert {'=HYPERLINK("x")', "'quoted title", 'Quotes "and", commas, one line'} <= titles


def test_formula_titles_are_escaped_for_spreadsheets(manager):
    with at(T0):
        services.incident_create(user=manager, title="=cmd|' /C calc'!A0")
    (row,) = rows_of(export_text())
    assert row["title"] == "'=cmd|' /C calc'!A0"


def test_imported_incidents_take_their_state_and_follow_the_lifecycle_afterwards(manager, sysadmin):
    held = {
        **VALID,
        "number": "INC-000501",
        "state": "on_hold",
        "resolved_at": "",
        "closed_at": "",
        "resolution_code": "",
        "on_hold_seconds": "600",
    }
    resolved = {**VALID, "number": "INC-000502", "state": "resolved", "closed_at": ""}
    do_import(csv_text(held, resolved), manager, create_services=True)

    on_hold = Incident.objects.get(number="INC-000501")
    assert on_hold.state == State.ON_HOLD
    with pytest.raises(AttributeError):  # still protected once loaded
        on_hold.state = State.CLOSED
    with at(NOW + timedelta(minutes=5)):
        resumed = services.incident_resume(incident=on_hold, user=manager, note="Back on it")
    assert resumed.state == State.INVESTIGATING
    assert resumed.on_hold_seconds == 600 + 300  # the hold counts from the import

    with at(NOW + timedelta(hours=1)):
        closed = services.incident_close(
            incident=Incident.objects.get(number="INC-000502"), user=manager, closure_notes="verified"
        )
    assert closed.state == State.CLOSED
    assert closed.resolved_at == datetime(2025, 10, 1, 10, 0, tzinfo=UTC)


# --- validation ------------------------------------------------------------------------------------------


def test_every_error_is_reported_with_its_row_and_nothing_is_written(manager, sysadmin, sdr_array):
    text = csv_text(
        {},  # row 2: fine
        {"number": "INC-000501", "state": "done", "severity": "S9"},  # 3
        {"number": "INC-000502", "created_at": "2025-10-01 08:00"},  # 4: no offset
        {"number": "INC-000503", "state": "resolved", "resolved_at": "", "closed_at": ""},  # 5
        {"number": "INC-000504", "service": "tape-library", "assignee": "nobody"},  # 6
        {"number": "INC-12"},  # 7
        {"number": "INC-000500"},  # 8: same number as row 2
        {"number": "INC-000505", "detected_at": "2025-10-01T09:00:00+00:00"},  # 9: after logging
        {"number": "INC-000506", "title": " ", "is_major": "perhaps", "reopen_count": "-1"},  # 10
        {"number": "INC-000507", "state": "logged", "closed_at": "2025-10-02T09:00:00+00:00"},  # 11
        {"number": "INC-000508", "closed_at": "2026-07-01T08:00:00+00:00"},  # 12: in the future
        {"number": "INC-000509", "severity": "S9", "service": "tape-library", "assignee": "nobody"},  # 13
    )
    services_before = Service.objects.count()

    with pytest.raises(CsvRejected) as caught:
        do_import(text, manager)

    found = [(e.row, e.field) for e in caught.value.row_errors]
    assert found == [
        (3, "severity"),
        (3, "state"),
        (4, "created_at"),
        (5, "resolved_at"),
        (6, "service"),
        (6, "assignee"),
        (7, "number"),
        (8, "number"),
        (9, "detected_at"),
        (10, "title"),
        (10, "is_major"),
        (10, "reopen_count"),
        (11, "first_response_at"),
        (11, "resolved_at"),
        (11, "closed_at"),
        (11, "resolution_code"),
        (12, "closed_at"),
        (13, "service"),  # a row with a bad cell is still checked against the catalogue and users
        (13, "severity"),
        (13, "assignee"),
    ]
    messages = [str(e) for e in caught.value.row_errors]
    assert "row 8: number: INC-000500 is already on row 2." in messages
    assert "row 6: service: Unknown service 'tape-library'" in " ".join(messages)
    assert Incident.objects.count() == 0
    assert Incident.history.count() == 0
    assert Service.objects.count() == services_before


def test_a_bad_row_also_stops_services_from_being_created(manager, sysadmin):
    text = csv_text({"service": "tape-library"}, {"number": "INC-000501", "urgency": "urgent"})
    with pytest.raises(CsvRejected) as caught:
        do_import(text, manager, create_services=True)
    assert [(e.row, e.field) for e in caught.value.row_errors] == [(3, "urgency")]
    assert not Service.objects.filter(slug="tape-library").exists()
    assert not Service.objects.filter(slug="sdr-array").exists()


def test_header_must_name_every_column_and_no_other(manager):
    columns = [c for c in COLUMNS if c not in ("tier", "closed_at")] + ["priority"]
    with pytest.raises(CsvRejected) as caught:
        do_import(csv_text({}, columns=columns), manager)
    (error,) = caught.value.row_errors
    assert str(error) == "row 1: header: missing columns: tier, closed_at; unknown columns: 'priority'."


def test_columns_may_come_in_any_order_and_blank_cells_take_defaults(manager, sysadmin, sdr_array):
    row = {"severity": "", "urgency": "High", "impact": "medium", "source": "", "tier": "", "is_major": ""}
    do_import(csv_text(row, columns=list(reversed(COLUMNS))), manager)
    incident = Incident.objects.get(number="INC-000500")
    assert (incident.severity, incident.urgency, incident.source, incident.tier, incident.is_major) == (
        "S2",  # from the matrix: high urgency x medium impact
        "high",
        "user",
        "tier1",
        False,
    )
    assert incident.resolved_at == datetime(2025, 10, 1, 10, 0, tzinfo=UTC)  # 12:00+02:00


def test_given_severity_is_kept_as_an_override(manager, sysadmin, sdr_array):
    do_import(csv_text({"urgency": "low", "impact": "low", "severity": "S1"}), manager)
    assert Incident.objects.get(number="INC-000500").severity == "S1"


def test_import_takes_an_incident_manager(service_desk, sdr_array):
    with pytest.raises(PermissionDenied):
        do_import(csv_text({}), service_desk)
    assert Incident.objects.count() == 0


# --- idempotency, numbering, history ---------------------------------------------------------------------


def test_second_import_of_the_same_file_changes_nothing(manager, sysadmin, sdr_array):
    text = csv_text({}, {"number": "INC-000501", "title": "Another"})
    first = do_import(text, manager)
    assert (first.created, first.unchanged) == (2, 0)

    second = do_import(text, manager)
    assert (second.created, second.unchanged, second.skipped_existing) == (0, 2, [])
    assert Incident.objects.count() == 2
    assert Incident.history.count() == 2
    assert TimelineEvent.objects.count() == 2

    changed = do_import(csv_text({"title": "Edited in the spreadsheet"}), manager)
    assert (changed.created, changed.unchanged, changed.skipped_existing) == (0, 0, ["INC-000500"])
    assert Incident.objects.get(number="INC-000500").title == "SDR-2 feed silent"  # never overwritten


def test_new_incidents_are_numbered_after_imported_ones(manager, sysadmin, sdr_array):
    result = do_import(csv_text({"number": "INC-000700"}, {"number": ""}), manager)
    assert (result.created, result.numbered) == (2, 1)
    assert set(Incident.objects.values_list("number", flat=True)) == {"INC-000700", "INC-000701"}
    assert NumberSequence.objects.get(name="incident").last_value == 701

    logged = services.incident_create(user=manager, title="Logged after the import")
    assert logged.number == "INC-000702"


def test_importing_lower_numbers_never_moves_the_sequence_back(manager, sysadmin, sdr_array):
    NumberSequence.objects.update_or_create(name="incident", defaults={"last_value": 900})
    do_import(csv_text({"number": "INC-000005"}), manager)
    assert NumberSequence.objects.get(name="incident").last_value == 900


def test_history_and_timeline_name_the_importing_user(manager, sysadmin, sdr_array):
    do_import(csv_text({}), manager)
    incident = Incident.objects.get(number="INC-000500")

    (record,) = incident.history.all()
    assert (record.history_user, record.history_change_reason, record.history_type) == (
        manager,
        "imported from CSV",
        "+",
    )
    assert record.state == State.CLOSED
    (event,) = incident.timeline.all()
    assert (event.kind, event.actor, event.note) == (EventKind.CREATED, manager, "Imported from CSV")
    assert event.created_at == incident.created_at


def test_dry_run_reports_what_it_would_do_and_writes_nothing(manager, sysadmin):
    result = do_import(csv_text({}, {"number": ""}), manager, dry_run=True, create_services=True)
    assert (result.created, result.numbered, result.services_created) == (2, 1, ["sdr-array"])
    assert Incident.objects.count() == 0
    assert not Service.objects.filter(slug="sdr-array").exists()
    assert NumberSequence.objects.get(name="incident").last_value == 0


# --- commands --------------------------------------------------------------------------------------------


def call(*args):
    out, err = io.StringIO(), io.StringIO()
    with at(NOW):
        call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def superuser(db):
    return make_user(username="root", is_superuser=True)


def test_export_command_writes_stdout_or_a_file(manager, csv_file, tmp_path):
    with at(T0):
        services.incident_create(user=manager, title="Feed down")
    out, _ = call("export_incidents", "--start", "2026-03-02", "--end", "2026-03-03")
    assert out == export_text()
    assert len(rows_of(out)) == 1

    path = tmp_path / "out.csv"
    out, err = call("export_incidents", "--start", "2026-03-02", "--end", "2026-03-03", "--output", str(path))
    assert out == ""
    assert "Exported 1 incidents" in err
    assert path.read_bytes().decode() == export_text()


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-13-01", "2026-12-01", "--start must be a date as YYYY-MM-DD, not '2026-13-01'"),
        ("2026-10-01", "1 Nov", "--end must be a date as YYYY-MM-DD"),
        ("2026-10-01", "2026-10-01", "must come after --start"),
        ("2026-11-01", "2026-10-01", "must come after --start"),
    ],
)
def test_export_command_rejects_bad_periods(start, end, message):
    with pytest.raises(CommandError, match=message):
        call("export_incidents", "--start", start, "--end", end)


def test_import_command_defaults_to_the_first_superuser(superuser, sysadmin, sdr_array, csv_file):
    out, _ = call("import_incidents", csv_file(csv_text({}, {"number": ""})))
    assert "Imported 2 of 2 incidents (1 with a new number)." in out
    assert Incident.history.filter(history_user=superuser).count() == 2

    out, _ = call("import_incidents", csv_file(csv_text({})))
    assert "Imported 0 of 1 incidents" in out
    assert "1 already stored with the same values: unchanged." in out


def test_import_command_user_option(manager, sysadmin, sdr_array, csv_file):
    call("import_incidents", csv_file(csv_text({})), "--user", "manager")
    assert Incident.history.get().history_user == manager


def test_import_command_dry_run_writes_nothing(superuser, sysadmin, csv_file):
    out, _ = call("import_incidents", csv_file(csv_text({})), "--dry-run", "--create-services")
    assert "Would import 1 of 1 incidents" in out
    assert "Would add services: sdr-array." in out
    assert "Dry run: nothing was written." in out
    assert Incident.objects.count() == 0
    assert not Service.objects.filter(slug="sdr-array").exists()


def test_import_command_creates_services_only_when_asked(superuser, sysadmin, csv_file):
    path = csv_file(csv_text({}))
    with pytest.raises(CommandError, match="1 error; nothing was imported"):
        call("import_incidents", path)
    assert not Service.objects.filter(slug="sdr-array").exists()

    out, _ = call("import_incidents", path, "--create-services")
    assert "Added services: sdr-array." in out
    service = Service.objects.get(slug="sdr-array")
    assert service.name == "sdr-array"
    assert service.history.get().history_user == superuser
    assert Incident.objects.get().service == service


def test_import_command_prints_every_error_and_fails_with_the_count(superuser, sysadmin, sdr_array, csv_file):
    path = csv_file(csv_text({"severity": "S9"}, {"number": "INC-000501", "assignee": "ghost"}))
    err = io.StringIO()
    with at(NOW), pytest.raises(CommandError, match="2 errors; nothing was imported"):
        call_command("import_incidents", path, stdout=io.StringIO(), stderr=err)
    assert err.getvalue().splitlines() == [
        "row 2: severity: 'S9' is not a valid choice; use one of: S1, S2, S3, S4.",
        "row 3: assignee: No user named 'ghost'.",
    ]
    assert Incident.objects.count() == 0


def test_import_command_lists_missing_and_unknown_columns(superuser, csv_file):
    path = csv_file("number,title,priority\nINC-000001,Feed down,P1\n")
    with pytest.raises(CommandError) as caught:
        call("import_incidents", path)
    message = str(caught.value)
    assert "missing columns: service, category" in message
    assert "unknown columns: 'priority'" in message


def test_import_command_rejects_a_file_that_is_not_csv_text(superuser, tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(CommandError, match="nothing was imported"):
        call("import_incidents", str(path))


def test_import_command_accepts_a_spreadsheet_bom(superuser, sysadmin, sdr_array, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text(csv_text({}), encoding="utf-8-sig")
    out, _ = call("import_incidents", str(path))
    assert "Imported 1 of 1" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv"], "No such file: missing.csv"),
        (["FILE", "--user", "ghost"], "No user named 'ghost'"),
    ],
)
def test_import_command_argument_errors(superuser, csv_file, args, message):
    args = [csv_file(csv_text({})) if a == "FILE" else a for a in args]
    with pytest.raises(CommandError, match=message):
        call("import_incidents", *args)


def test_import_command_needs_a_superuser_or_user(csv_file, db):
    with pytest.raises(CommandError, match="No active superuser"):
        call("import_incidents", csv_file(csv_text({})))


def test_import_command_refuses_a_user_without_the_role(superuser, sdr_array, csv_file):
    make_user(Role.SERVICE_DESK, username="desk")
    with pytest.raises(CommandError, match="Only Incident Managers may import"):
        call("import_incidents", csv_file(csv_text({})), "--user", "desk")
