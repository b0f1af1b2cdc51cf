"""CSV export and import of incidents: how a lab brings its past incidents from a spreadsheet or another
tool so that the reports cover them, and how it takes them out again.

The import is the one write path that bypasses the lifecycle on purpose: its rows are history, so each
incident is stored in the state and with the timestamps the file gives. Everything else the services do
still happens: the history records the importing user, the timeline gets its "created" entry and the
incident number sequence stays ahead of every imported number.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import IO

from django.contrib.auth import get_user_model
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from . import limits
from .choices import (
    Category,
    ClosedBy,
    EventKind,
    IncidentType,
    Level,
    ResolutionCode,
    Severity,
    Source,
    State,
    Tier,
    Visibility,
    current_type,
)
from .exceptions import Conflict, PermissionDenied, ValidationError
from .models import Incident, NumberSequence, Service, TimelineEvent
from .output_safety import csv_cell, csv_cell_restore
from .rules import severity_for
from .selectors import visible_incidents
from .services import clean_caller, next_number

User = get_user_model()

COLUMNS = (
    "number",
    "title",
    "service",
    "category",
    "incident_type",
    "source",
    "urgency",
    "impact",
    "severity",
    "state",
    "tier",
    "assignee",
    "is_major",
    "detected_at",
    "created_at",
    "first_response_at",
    "response_due_at",
    "resolution_due_at",
    "on_hold_seconds",
    "resolved_at",
    "closed_at",
    "reopen_count",
    "resolution_code",
    "caller",
    "caller_name",
    "caller_email",
)
# Columns a file may leave out (files written before they existed): their cells are then blank.
OPTIONAL_COLUMNS = ("caller", "caller_name", "caller_email")
TIMESTAMPS = (
    "detected_at",
    "created_at",
    "first_response_at",
    "response_due_at",
    "resolution_due_at",
    "resolved_at",
    "closed_at",
)
# Moments that have happened; due times may lie in the future.
PAST_TIMESTAMPS = ("detected_at", "created_at", "first_response_at", "resolved_at", "closed_at")
# Both counters are PostgreSQL `integer` columns: a larger value passed the dry run, then failed the write.
LARGEST_COUNT = 2**31 - 1
CHOICES = {
    "category": Category,
    "incident_type": IncidentType,
    "source": Source,
    "urgency": Level,
    "impact": Level,
    "severity": Severity,
    "state": State,
    "tier": Tier,
    "resolution_code": ResolutionCode,
}
# Choices are matched ignoring case ("High", "s1"); the stored value is the canonical one.
CANONICAL = {column: {v.lower(): v for v in choices.values} for column, choices in CHOICES.items()}
# Blank cells of these columns take the model's default.
DEFAULTS = {
    "source": Source.USER,
    "tier": Tier.TIER1,
    "is_major": False,
    "on_hold_seconds": 0,
    "reopen_count": 0,
}
TRUE, FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n", ""}

NUMBER = re.compile(r"INC-[0-9]{6}")
SEQUENCE, PREFIX = "incident", "INC"
IMPORT_REASON = "imported from CSV"
IMPORT_NOTE = "Imported from CSV"

CLASSIFIED_STATES = {State.CLASSIFIED, State.INVESTIGATING, State.ON_HOLD, State.RESOLVED, State.CLOSED}
RESOLVED_STATES = {State.RESOLVED, State.CLOSED}
UNWORKED_STATES = {State.LOGGED, State.CLASSIFIED, State.CANCELLED}
BATCH = 500


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet shows it: 1 is the header, 2 the first incident
    field: str
    message: str

    def __str__(self):
        return f"row {self.row}: {self.field}: {self.message}"


class CsvRejected(ValidationError):
    """The file has errors; `row_errors` lists every one of them and nothing was written."""

    def __init__(self, row_errors: list[RowError]):
        self.row_errors = sorted(row_errors, key=lambda e: (e.row, _column_rank(e.field)))
        super().__init__([str(e) for e in self.row_errors])


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0  # incidents written (or that would be, on a dry run)
    numbered: int = 0  # of those, rows with a blank number that get the next free one
    unchanged: int = 0  # numbers already stored with exactly the row's values
    skipped_existing: list[str] = field(default_factory=list)  # stored with other values; kept as stored
    services_created: list[str] = field(default_factory=list)
    dry_run: bool = False


# --- export ----------------------------------------------------------------------------------------------


def export_incidents(*, start: date, end: date, stream: IO[str], user=None) -> int:
    """Write the incidents logged in [start, end) (dates in settings.TIME_ZONE) to `stream` as CSV with the
    columns of `COLUMNS`, ordered by number, and return how many were written. Timestamps are ISO 8601 in
    settings.TIME_ZONE with their UTC offset; the service is its slug and the assignee a username; empty
    cells stand for nothing. Text a spreadsheet would run as a formula (starting with = + - @, a tab or a
    CR) gets a leading "'" (`output_safety.csv_cell`), which the import removes again. One query streamed in
    chunks, so a year of incidents never sits in memory. With `user`, only the incidents that user may see
    (`selectors.visible_incidents`); without, every incident (the operator's full export)."""
    if start >= end:
        raise ValidationError(
            {"end": ["The end date must come after the start date (the end is exclusive)."]}
        )
    zone = timezone.get_default_timezone()
    incidents = Incident.objects.all() if user is None else visible_incidents(user)
    queryset = incidents.filter(
        created_at__gte=_midnight(start, zone), created_at__lt=_midnight(end, zone)
    ).order_by("number")
    writer = csv.writer(stream)
    writer.writerow(COLUMNS)
    count = 0
    for values in _stored_rows(queryset):
        writer.writerow(_format(values, zone))
        count += 1
    return count


def _midnight(day: date, zone) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), zone)


def _stored_rows(queryset) -> Iterator[dict]:
    """The incidents as dicts keyed by column; `values()` joins service and assignee in the same query."""
    username = User.USERNAME_FIELD
    sources = {
        "service": "service__slug",
        "assignee": f"assignee__{username}",
        "caller": f"caller__{username}",
    }
    names = [sources.get(column, column) for column in COLUMNS]
    for values in queryset.values_list(*names).iterator(chunk_size=2000):
        yield dict(zip(COLUMNS, values, strict=True))


def _format(values: dict, zone) -> list[str]:
    cells = []
    for column in COLUMNS:
        value = values[column]
        if value is None:
            cells.append("")
        elif column in TIMESTAMPS:
            cells.append(timezone.localtime(value, zone).isoformat())
        elif column == "is_major":
            cells.append("true" if value else "false")
        else:
            # Titles come from any signed-in reporter, and slugs and usernames may start with "-", "+" or
            # "@": a spreadsheet would run them. The import undoes the escape (`csv_cell_restore`).
            cells.append(csv_cell(str(value)))
    return cells


# --- import ----------------------------------------------------------------------------------------------


def import_incidents(
    *, stream: Iterable[str], user, create_services: bool = False, dry_run: bool = False
) -> ImportResult:
    """Bring past incidents in from CSV (the columns of `COLUMNS`, in any order; row 1 is the header).

    All or nothing: every row is validated first (choices, required cells, ISO 8601 timestamps with a UTC
    offset, timestamps in order and matching the state, known services and assignees, number INC-nnnnnn
    or blank) and every error is reported with its row number, in one `CsvRejected`; nothing is written
    unless the whole file is clean, and a dry run never writes.

    Moments are bounded (`incidents.limits`): each one exists in UTC; logging lies between
    `EARLIEST_INCIDENT_DATE` and now, detection within `DETECTED_AT_MAX_AGE` before logging and not before
    its service went into operation, what happened since logging not in the future, due times at most
    `MAX_SLA_TARGET` after logging (the resolution's plus the time on hold, which is at most the time since
    logging).

    Rows keep their numbers and timestamps and are stored directly in their state: they are history, not
    work to drive through the lifecycle, so no signal is sent (nothing is escalated or notified). A blank
    severity with urgency and impact is taken from the matrix (seed 3.2); a given severity is kept even
    when it differs, as an override would. A blank number gets the next free one. Each incident's history
    names `user` with the reason "imported from CSV", and its timeline starts with a "created" entry at
    its logging time. An incident imported on hold counts its hold from the import, the only start known.

    Idempotent by number: a row whose number is already stored is never written. It counts as
    `unchanged` when the stored incident has exactly the row's values, and is listed in
    `skipped_existing` (not an error) when they differ, e.g. because it was worked on since. Rows with a
    blank number are new every time. Missing services are an error unless `create_services`, which adds
    them with the slug as name, in operation since the day of the earliest detection among their rows. The
    number sequence is moved past the highest stored number, so incidents logged later never collide with
    imported ones.

    Importing bypasses the lifecycle, so it takes an Incident Manager (`incidents.manage_incident`), and
    `incidents.add_service` to create services."""
    if not user.has_perm("incidents.manage_incident"):
        raise PermissionDenied("Only Incident Managers may import incidents.")
    if create_services and not user.has_perm("incidents.add_service"):
        raise PermissionDenied("You may not add services to the catalogue.")
    try:
        with transaction.atomic():
            return _import(stream, user=user, create_services=create_services, dry_run=dry_run)
    except IntegrityError as exc:
        raise Conflict(
            "Another writer stored one of these incident numbers or services while the import ran; "
            "nothing was imported. Run the import again."
        ) from exc


def _import(stream, *, user, create_services: bool, dry_run: bool) -> ImportResult:
    errors: list[RowError] = []
    rows = _read(stream, errors)
    if errors:
        raise CsvRejected(errors)
    # Every row is checked against everything (its cells, the catalogue, the users, the other rows), so
    # one pass reports all problems.
    cleaned = {row: _clean(raw, row, errors) for row, raw in rows}
    _check_numbers_unique(cleaned, errors)
    services = _resolve_services(cleaned, errors, create_services=create_services)
    users = _resolve_users(cleaned, errors)
    _check_callers(cleaned, users, errors)
    stored = _stored_by_number(cleaned)
    _check_in_service(cleaned, services, stored, errors)
    if errors:
        raise CsvRejected(errors)

    result = ImportResult(rows=len(rows), dry_run=dry_run)
    new = {}
    for row, values in cleaned.items():
        existing = stored.get(values["number"])
        if existing is None:
            new[row] = values
        elif all(existing[c] == values[c] for c in COLUMNS):
            result.unchanged += 1
        else:
            result.skipped_existing.append(values["number"])
    result.created = len(new)
    result.numbered = sum(1 for values in new.values() if not values["number"])
    missing = sorted({v["service"] for v in new.values() if v["service"]} - set(services))
    result.services_created = missing
    if dry_run:
        return result

    for slug in missing:
        first = min(v["detected_at"] for v in new.values() if v["service"] == slug)
        service = Service(name=slug, slug=slug, in_service_since=timezone.localtime(first).date())
        service._history_user = user
        service._change_reason = IMPORT_REASON
        service.save()
        services[slug] = service
    _keep_sequence_ahead([v["number"] for v in new.values() if v["number"]])
    now = timezone.now()
    incidents = []
    for values in new.values():
        incident = _build(values, services=services, users=users, now=now)
        incident._history_user = user
        incident._change_reason = IMPORT_REASON
        incidents.append(incident)
    incidents = bulk_create_with_history(
        incidents, Incident, batch_size=BATCH, default_user=user, default_change_reason=IMPORT_REASON
    )
    TimelineEvent.objects.bulk_create(
        (
            TimelineEvent(
                incident=incident,
                kind=EventKind.CREATED,
                actor=user,
                created_at=incident.created_at,
                to_state=State.LOGGED,
                note=IMPORT_NOTE,
                visibility=Visibility.PUBLIC,
                data={"imported_state": incident.state},
            )
            for incident in incidents
        ),
        batch_size=BATCH,
    )
    return result


def _read(stream, errors: list[RowError]) -> list[tuple[int, dict]]:
    """Rows as (spreadsheet row number, {column: text}); blank lines are skipped but keep their number."""
    reader = csv.reader(stream)
    rows: list[tuple[int, dict]] = []
    header: list[str] | None = None
    row = 0
    try:
        for row, record in enumerate(reader, start=1):
            if header is None:
                header = [name.strip().lstrip("\ufeff") for name in record]
                if not _check_header(header, errors):
                    return []
                continue
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                errors.append(
                    RowError(row, "row", f"Has {len(record)} cells; the header has {len(header)} columns.")
                )
                continue
            cells = dict(zip(header, record, strict=True))
            rows.append((row, {**dict.fromkeys(OPTIONAL_COLUMNS, ""), **cells}))
    except UnicodeDecodeError:
        errors.append(RowError(row + 1, "file", "Not UTF-8 text: is this really a CSV file?"))
    except csv.Error as exc:
        errors.append(RowError(row + 1, "file", f"Not readable as CSV: {exc}."))
    if header is None and not errors:
        errors.append(RowError(1, "header", f"The file is empty; expected the header {','.join(COLUMNS)}."))
    return rows


def _check_header(header: list[str], errors: list[RowError]) -> bool:
    problems = []
    missing = [c for c in COLUMNS if c not in header and c not in OPTIONAL_COLUMNS]
    unknown = [c for c in dict.fromkeys(header) if c not in COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if missing:
        problems.append("missing columns: " + ", ".join(missing))
    if unknown:
        problems.append("unknown columns: " + ", ".join(repr(c) for c in unknown))
    if repeated:
        problems.append("repeated columns: " + ", ".join(repeated))
    if problems:
        errors.append(RowError(1, "header", "; ".join(problems) + "."))
    return not problems


def _clean(raw: dict, row: int, errors: list[RowError]) -> dict:
    """Parse one row into model values, appending every problem to `errors` (a cell that fails keeps a
    blank value, so the row's other checks still run)."""
    before = len(errors)

    def error(column, message):
        errors.append(RowError(row, column, message))

    # PostgreSQL refuses NUL in text: report the cell, then check the rest of the row without the NUL, so
    # that the dry run and the real run refuse the same file and no lookup ever carries one.
    for column in COLUMNS:
        if "\x00" in raw[column]:
            error(column, limits.NUL_MESSAGE)
    raw = {column: raw[column].replace("\x00", "") for column in COLUMNS}

    text = {column: csv_cell_restore(raw[column].strip()) for column in COLUMNS}
    values: dict = {}

    number = text["number"]
    if number and not NUMBER.fullmatch(number):
        error("number", f"'{number}' is not an incident number like INC-000123 (leave blank for a new one).")
    values["number"] = number

    title = raw["title"].strip()
    title = csv_cell_restore(title)  # undo the export's formula escape
    if not title:
        error("title", "This field is required.")
    for message in limits.title_errors(title, max_length=Incident._meta.get_field("title").max_length):
        error("title", message)
    values["title"] = title
    values["service"] = text["service"] or None
    values["assignee"] = text["assignee"] or None
    values["caller"] = text["caller"] or None
    values["caller_name"] = text["caller_name"]
    values["caller_email"] = text["caller_email"]

    # An export from before seed 2.2's types ("security_breach", "other") imports with today's.
    text["incident_type"] = current_type(text["incident_type"], category=text["category"])
    for column, choices in CHOICES.items():
        value = text[column]
        canonical = CANONICAL[column].get(value.lower())
        if value and canonical is None:
            error(column, f"'{value}' is not a valid choice; use one of: {', '.join(choices.values)}.")
        values[column] = canonical or DEFAULTS.get(column, "")
    if not text["state"]:
        error("state", "This field is required.")

    major = text["is_major"].lower()
    if major not in TRUE | FALSE:
        error("is_major", f"'{text['is_major']}' is not true or false.")
    values["is_major"] = major in TRUE

    for column in ("on_hold_seconds", "reopen_count"):
        value = text[column]
        if value and not value.isdecimal():
            error(column, f"'{value}' is not a whole number of zero or more.")
        elif value and int(value) > LARGEST_COUNT:
            error(column, f"At most {LARGEST_COUNT}.")
        values[column] = int(value) if value.isdecimal() else DEFAULTS[column]

    for column in TIMESTAMPS:
        values[column] = _timestamp(text[column], column, error)
    for column in ("detected_at", "created_at"):
        if not text[column]:
            error(column, "This field is required.")

    if len(errors) == before:  # consistency between cells only means something when each cell parsed
        _check_consistency(values, error)
    return values


def _timestamp(value: str, column: str, error) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        error(column, f"'{value}' is not an ISO 8601 timestamp such as 2026-10-01T08:30:00+02:00.")
        return None
    if timezone.is_naive(moment):
        error(column, f"'{value}' has no UTC offset; add one, e.g. {moment.isoformat()}+00:00.")
        return None
    if not limits.storable(moment):
        error(column, f"'{value}' is outside the dates this system can store.")
        return None
    return moment


def _check_consistency(values: dict, error) -> None:
    """The rules the lifecycle would have enforced, so imported history reads like recorded history."""
    state = values["state"]
    urgency, impact = values["urgency"], values["impact"]
    if bool(urgency) != bool(impact):
        error("impact" if urgency else "urgency", "Give urgency and impact together, or neither.")
    elif urgency and not values["severity"]:
        values["severity"] = severity_for(urgency=urgency, impact=impact).value
    if state in CLASSIFIED_STATES and not values["severity"]:
        error("severity", f"Required for a {state} incident (or give urgency and impact).")

    if state in RESOLVED_STATES:
        for column in ("resolved_at", "resolution_code"):
            if not values[column]:
                error(column, f"Required for a {state} incident.")
    else:
        for column in ("resolved_at", "resolution_code"):
            if values[column]:
                error(column, f"Must be empty: a {state} incident is not resolved.")
    if state == State.CLOSED and not values["closed_at"]:
        error("closed_at", "Required for a closed incident.")
    if state != State.CLOSED and values["closed_at"]:
        error("closed_at", f"Must be empty: a {state} incident is not closed.")
    if state in UNWORKED_STATES and values["first_response_at"]:
        error("first_response_at", f"Must be empty: nobody has worked on a {state} incident yet.")

    created = values["created_at"]
    now = timezone.now()
    # The bound of `incident_create`, relative to the row's own logging time: old incidents import.
    for message in limits.detected_at_errors(values["detected_at"], logged_at=created):
        error("detected_at", message)
    logged_errors = limits.logged_at_errors(created, now=now)
    for message in logged_errors:
        error("created_at", message)
    for column in ("first_response_at", "response_due_at", "resolution_due_at", "resolved_at"):
        if values[column] and values[column] < created:
            error(column, "Cannot be earlier than logging (created_at).")
    if not logged_errors:  # the sums below stay within the calendar only from a bounded logging time
        _check_due_times(values, now, error)
    if (
        values["first_response_at"]
        and values["resolved_at"]
        and values["resolved_at"] < values["first_response_at"]
    ):
        error("resolved_at", "Cannot be earlier than the first response.")
    if values["closed_at"] and values["resolved_at"] and values["closed_at"] < values["resolved_at"]:
        error("closed_at", "Cannot be earlier than the resolution.")
    for column in PAST_TIMESTAMPS:
        if column != "created_at" and values[column] and limits.in_future(values[column], now=now):
            error(column, "Cannot be in the future.")


def _check_due_times(values: dict, now: datetime, error) -> None:
    """Due times within the longest SLA target after logging; the resolution's moves later by the time on
    hold, which cannot exceed the time since logging."""
    created = values["created_at"]
    since_logging = max(0, int((now - created).total_seconds()))
    if values["on_hold_seconds"] > since_logging:
        error("on_hold_seconds", f"More than the time since logging ({since_logging} seconds).")
    on_hold = timedelta(seconds=min(values["on_hold_seconds"], since_logging))
    for column, hold in (("response_due_at", None), ("resolution_due_at", on_hold)):
        if values[column]:
            for message in limits.due_at_errors(values[column], logged_at=created, on_hold=hold):
                error(column, message)


def _check_in_service(cleaned, services, stored, errors: list[RowError]) -> None:
    """Rows about to be written are not detected before their (existing) service went into operation; a
    service the import creates goes into operation on its earliest row's day. A detection refused already
    gets no second message."""
    refused = {e.row for e in errors if e.field == "detected_at"}
    for row, values in cleaned.items():
        service = services.get(values["service"])
        if service is None or values["number"] in stored or not values["detected_at"] or row in refused:
            continue
        for message in limits.in_service_errors(values["detected_at"], service=service):
            errors.append(RowError(row, "detected_at", message))


def _check_numbers_unique(cleaned: dict[int, dict], errors: list[RowError]) -> None:
    first_row: dict[str, int] = {}
    for row, values in cleaned.items():
        number = values["number"]
        if number and number in first_row:
            errors.append(RowError(row, "number", f"{number} is already on row {first_row[number]}."))
        elif number:
            first_row[number] = row


def _resolve_services(cleaned, errors, *, create_services: bool) -> dict[str, Service]:
    slugs = {values["service"] for values in cleaned.values() if values["service"]}
    services = {service.slug: service for service in Service.objects.filter(slug__in=slugs)}
    missing = slugs - set(services)
    problems = {}
    if missing and create_services:
        max_length = Service._meta.get_field("slug").max_length
        taken_names = set(Service.objects.filter(name__in=missing).values_list("name", flat=True))
        for slug in missing:
            try:
                validate_slug(slug)
            except ValidationError:
                problems[slug] = f"'{slug}' is not a valid slug (letters, digits, hyphens, underscores)."
                continue
            if len(slug) > max_length:
                problems[slug] = f"A service slug has at most {max_length} characters."
            elif slug in taken_names:
                problems[slug] = f"Another service is already named '{slug}'; use its slug."
    elif missing:
        problems = {
            slug: f"Unknown service '{slug}'; add it to the catalogue first or let the import create it."
            for slug in missing
        }
    for row, values in cleaned.items():
        if values["service"] in problems:
            errors.append(RowError(row, "service", problems[values["service"]]))
    return services


def _resolve_users(cleaned, errors) -> dict[str, object]:
    field_name = User.USERNAME_FIELD
    names = {values[c] for values in cleaned.values() for c in ("assignee", "caller") if values[c]}
    users = {getattr(u, field_name): u for u in User.objects.filter(**{f"{field_name}__in": names})}
    for row, values in cleaned.items():
        for column in ("assignee", "caller"):
            if values[column] and values[column] not in users:
                errors.append(RowError(row, column, f"No user named '{values[column]}'."))
    return users


def _check_callers(cleaned, users, errors: list[RowError]) -> None:
    """The caller of each row: an account by username (kept even when inactive now: the row is history), or
    a contact by name and e-mail, checked as logging checks them (`services.clean_caller`, which links an
    address belonging to an account)."""
    for row, values in cleaned.items():
        if values["caller"]:
            if values["caller_name"] or values["caller_email"]:
                errors.append(
                    RowError(
                        row, "caller", "Name the caller either by account or by name and e-mail, not both."
                    )
                )
            continue
        if not (values["caller_name"] or values["caller_email"]):
            continue
        problems: dict = {}
        caller = clean_caller(
            problems, caller_name=values["caller_name"], caller_email=values["caller_email"]
        )
        errors += [
            RowError(row, field, message) for field, messages in problems.items() for message in messages
        ]
        if caller["caller"] is not None:
            values["caller"] = caller["caller"].get_username()
            users[values["caller"]] = caller["caller"]
        values["caller_name"], values["caller_email"] = caller["caller_name"], caller["caller_email"]


def _stored_by_number(cleaned) -> dict[str, dict]:
    numbers = sorted({values["number"] for values in cleaned.values() if values["number"]})
    stored = {}
    for i in range(0, len(numbers), BATCH):
        queryset = Incident.objects.filter(number__in=numbers[i : i + BATCH])
        stored.update((values["number"], values) for values in _stored_rows(queryset))
    return stored


def _keep_sequence_ahead(numbers: list[str]) -> None:
    """Move the counter past the highest number stored or about to be, so `next_number` never collides."""
    highest = Incident.objects.filter(number__startswith=f"{PREFIX}-").aggregate(top=Max("number"))["top"]
    candidates = [int(n.removeprefix(f"{PREFIX}-")) for n in [*numbers, highest or ""] if NUMBER.fullmatch(n)]
    if not candidates:
        return
    NumberSequence.objects.get_or_create(name=SEQUENCE)
    NumberSequence.objects.filter(name=SEQUENCE, last_value__lt=max(candidates)).update(
        last_value=max(candidates)
    )


def _build(values: dict, *, services, users, now) -> Incident:
    # A new object may take its protected FSM state in the constructor: django-fsm only refuses to
    # assign the state of an instance that already has one.
    incident = Incident(
        **{
            column: values[column]
            for column in COLUMNS
            if column not in ("number", "service", "assignee", "caller")
        },
        number=values["number"] or next_number(SEQUENCE, PREFIX),
        service=services.get(values["service"]),
        assignee=users.get(values["assignee"]),
        caller=users.get(values["caller"]),
    )
    if incident.state == State.ON_HOLD:
        incident.on_hold_since = now  # when the hold began is unknown; resuming needs a start
    if incident.state == State.CLOSED:
        incident.closed_by = ClosedBy.STAFF  # how records closed before the caller could confirm
    # Only classification sets a real severity: a logged incident's (an export of one) is provisional.
    incident.severity_provisional = incident.state == State.LOGGED and bool(incident.severity)
    return incident


def _column_rank(name: str) -> int:
    return COLUMNS.index(name) if name in COLUMNS else -1
