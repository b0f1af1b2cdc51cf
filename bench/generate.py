#!/usr/bin/env python
"""Fill PostgreSQL with N synthetic incidents for the benchmarks (issue 12): ten years of a lab's incidents,
most raised by monitoring, with their history rows, timeline events, escalation events and, for the open
ones, escalation schedules.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/itsm_bench .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/itsm_bench .venv/bin/python bench/generate.py --n 100000

What the rows look like:

- created over the ten years before now (a little more each year), detected 0-30 minutes earlier;
- category and type from `TYPE_CATEGORY`, the service from the category's part of the catalogue, urgency and
  impact drawn and the severity given by the matrix (`incidents.rules.severity_for`), so S1 about 2 %;
- due times from the SLA policies in the database (`clocks.due_times`: logging time plus the target, the
  resolution clock extended by the time on hold);
- states: cancelled 2 %, about 300 open whatever N (`--open`; every open state, logged in the last month),
  a fifth of that resolved waiting for closure, the rest closed (by staff, the caller or the auto-close);
- one historical row per change (logging, then each transition) and one timeline event per change, as the
  services write them; escalation events where the resolution clock passed 50 % / 75 % / 100 %;
- open incidents get an escalation schedule whose next step lies in the future: nothing is due after
  loading (the sweep benchmark makes a fixed number due inside a transaction it rolls back).

Every row satisfies the incident check constraints. Rows go in with COPY (psycopg 3); connected as a
superuser, the per-row foreign-key triggers are skipped while loading (`session_replication_role`; the rows
refer only to existing services, users and steps), unless --check-foreign-keys. The number of
generated incidents is kept in the `bench-generated` number sequence: a later run tops the database up to
--n, and a database holding other incidents is refused unless --force. ANALYZE runs at the end.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itsm.settings")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ.setdefault("DEBUG", "true")

import django

django.setup()

from django.apps import apps  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from tqdm import tqdm  # noqa: E402

from escalation.models import EscalationStep  # noqa: E402
from incidents.choices import (  # noqa: E402
    OPEN_STATES,
    TYPE_CATEGORY,
    Category,
    ClosedBy,
    EventKind,
    HoldReason,
    Level,
    ResolutionCode,
    Role,
    Source,
    State,
    Tier,
    Visibility,
)
from incidents.models import Incident, NumberSequence, Service, SlaPolicy  # noqa: E402
from incidents.reference_data import seed_service_catalogue  # noqa: E402
from incidents.rules import severity_for  # noqa: E402

MARKER = "bench-generated"  # NumberSequence row: how many incidents this script wrote
YEARS = 10
BATCH = 10_000
PASSWORD = "bench-itsm-2026"

CATEGORY_WEIGHTS = {
    Category.INFRASTRUCTURE: 45,
    Category.APPLICATION: 30,
    Category.OBSERVATORY: 20,
    Category.SECURITY: 5,
}
CATEGORY_SERVICES = {
    Category.INFRASTRUCTURE: ["pve-cluster", "ceph", "core-network", "postgresql"],
    Category.APPLICATION: ["web-portal", "identity-sso", "jupyterhub", "data-archive", "postgresql"],
    Category.OBSERVATORY: ["sdr-array", "antenna-feed", "data-archive"],
    Category.SECURITY: ["identity-sso", "web-portal", "jupyterhub", "core-network"],
}
# Monitoring raises most incidents; it reports faults as they are, so more high urgency.
SOURCE_WEIGHTS = {Source.MONITORING: 65, Source.USER: 30, Source.OPERATIONS: 5}
URGENCY_WEIGHTS = {Level.HIGH: 12, Level.MEDIUM: 38, Level.LOW: 50}
IMPACT_WEIGHTS = {Level.HIGH: 10, Level.MEDIUM: 35, Level.LOW: 55}
OPEN_STATE_WEIGHTS = {State.LOGGED: 15, State.CLASSIFIED: 15, State.INVESTIGATING: 55, State.ON_HOLD: 15}
TITLES = {
    "host_failure": ["{host} unreachable", "{host} kernel panic", "{host} lost power supply"],
    "network_outage": ["Packet loss on {link}", "{link} down", "BGP session flapping on {link}"],
    "infrastructure_other": ["Disk {disk} degraded on {host}", "Ceph OSD {disk} down", "NTP drift on {host}"],
    "database_unavailable": ["PostgreSQL primary not accepting connections", "Replication lag above 5 min"],
    "application_error": ["HTTP 500 on {app}", "{app} login fails", "{app} job queue stuck"],
    "application_other": ["{app} slow", "Certificate for {app} expires soon"],
    "unauthorized_access": ["Suspicious logins on {app}", "SSH brute force against {host}"],
    "malware": ["Malware signature on {host}"],
    "security_other": ["Leaked token for {app}"],
    "sdr_failure": ["SDR {sdr} not streaming", "SDR {sdr} clock unlocked"],
    "feed_issue": ["Antenna feed {sdr} LNA current high", "Feed {sdr} cryo temperature rising"],
    "observatory_other": ["Observation schedule missed on {sdr}"],
}


def ts(value: datetime | None) -> str:
    return "\\N" if value is None else value.isoformat()


def text(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


class Reference:
    """The rows every incident refers to: services, users by role, SLA targets, escalation steps."""

    def __init__(self, *, since: datetime):
        from incidents.demo import ensure_users

        users, _logins = ensure_users(password=PASSWORD, since=since)
        self.users = users
        seed_service_catalogue(apps)  # the lab's catalogue, as migrated (idempotent)
        self.services = {s.slug: s.pk for s in Service.objects.all()}
        missing = {slug for slugs in CATEGORY_SERVICES.values() for slug in slugs} - set(self.services)
        if missing:
            raise SystemExit(
                f"services missing ({', '.join(sorted(missing))}): run `manage.py migrate` first"
            )
        # Incidents cannot be detected before a service went into operation: date the catalogue back.
        Service.objects.filter(in_service_since__gt=since.date()).update(in_service_since=since.date())
        self.targets = {p.severity: (p.response_target, p.resolution_target) for p in SlaPolicy.objects.all()}
        self.steps = {}
        for step in EscalationStep.objects.select_related("policy").order_by("order", "pk"):
            self.steps.setdefault(step.policy.severity, []).append(step)
        by_role: dict[str, list[int]] = {}
        for demo_user in users.values():
            for group in demo_user.groups.all():
                by_role.setdefault(group.name, []).append(demo_user.pk)
        self.tier_users = {
            Tier.TIER1: by_role.get(Role.SERVICE_DESK, []),
            Tier.TIER2: by_role.get(Role.SYSADMINS, []),
            Tier.TIER3: by_role.get(Role.EXPERTS, []),
            Tier.EXTERNAL: by_role.get(Role.EXTERNAL, []),
        }
        self.desk = self.tier_users[Tier.TIER1]
        self.managers = by_role.get(Role.INCIDENT_MANAGERS, [])
        self.callers = [users[name].pk for name in ("okafor", "lindqvist", "tanaka") if name in users]
        self.monitoring = users["monitoring"].pk


INCIDENT_COLUMNS = [f.column for f in Incident._meta.concrete_fields]
HISTORY_COLUMNS = [c for c in INCIDENT_COLUMNS if c != "updated_at"] + [
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user_id",
]
TIMELINE_COLUMNS = [
    "id",
    "incident_id",
    "kind",
    "actor_id",
    "created_at",
    "from_state",
    "to_state",
    "transition",
    "note",
    "visibility",
    "data",
]
ESCALATION_EVENT_COLUMNS = [
    "incident_id",
    "kind",
    "key",
    "step_id",
    "level",
    "from_tier",
    "to_tier",
    "due_at",
    "fired_at",
    "reason",
    "actor_id",
]
SCHEDULE_COLUMNS = [
    "incident_id",
    "next_step_id",
    "next_escalation_at",
    "active_escalation_id",
    "queued_token",
    "incident_manager_id",
    "last_reminder_at",
]


class Generator:
    def __init__(
        self, *, ref: Reference, now: datetime, seed: int, open_fraction: float, resolved_fraction: float
    ):
        self.ref, self.now = ref, now
        self.open_fraction, self.resolved_fraction = open_fraction, resolved_fraction
        self.rng = random.Random(seed)
        self.start = now - timedelta(days=365 * YEARS)
        self.categories, self.category_weights = zip(*CATEGORY_WEIGHTS.items(), strict=True)
        self.types = {c: [t for t, tc in TYPE_CATEGORY.items() if tc == c] for c in Category}
        self.incidents, self.history, self.timeline = io.StringIO(), io.StringIO(), io.StringIO()
        self.escalations, self.schedules = io.StringIO(), io.StringIO()
        self.counts = dict.fromkeys(("incidents", "history", "timeline", "escalations", "schedules"), 0)

    def _pick(self, weights: dict):
        return self.rng.choices(list(weights), list(weights.values()))[0]

    def _created_at(self, state: str) -> datetime:
        rng = self.rng
        if state in (State.LOGGED, State.CLASSIFIED, State.INVESTIGATING, State.ON_HOLD):
            return self.now - timedelta(days=30) * rng.random() ** 2 - timedelta(minutes=1)
        if state == State.RESOLVED:
            return self.now - timedelta(days=5) * rng.random() - timedelta(days=1)
        # A little more each year: density grows linearly from 0.5 to 1.5 over the window.
        u = rng.random()
        fraction = (-0.5 + (0.25 + 2 * u) ** 0.5) if u else 0.0
        return self.start + (self.now - timedelta(days=7) - self.start) * fraction

    def incident(self, pk: int, number: int) -> None:
        rng, ref = self.rng, self.ref
        roll = rng.random()
        if roll < self.open_fraction:
            state = self._pick(OPEN_STATE_WEIGHTS)
        elif roll < self.open_fraction + self.resolved_fraction:
            state = State.RESOLVED
        elif roll < self.open_fraction + self.resolved_fraction + 0.02:
            state = State.CANCELLED
        else:
            state = State.CLOSED
        created = self._created_at(state)
        source = self._pick(SOURCE_WEIGHTS)
        category = rng.choices(self.categories, self.category_weights)[0]
        incident_type = rng.choice(self.types[category])
        urgency, impact = self._pick(URGENCY_WEIGHTS), self._pick(IMPACT_WEIGHTS)
        severity = str(severity_for(urgency=urgency, impact=impact))
        service = ref.services[rng.choice(CATEGORY_SERVICES[category])]
        title = rng.choice(TITLES[incident_type]).format(
            host=f"pve-{rng.randint(1, 12):02d}",
            link=f"sw-core-{rng.randint(1, 4)}/uplink{rng.randint(1, 8)}",
            disk=f"osd.{rng.randint(0, 95)}",
            app=rng.choice(["JupyterHub", "the web portal", "SSO", "the archive"]),
            sdr=f"sdr-{rng.randint(1, 24):02d}",
        )
        reporter = ref.monitoring if source == Source.MONITORING else rng.choice(ref.desk)
        caller = rng.choice(ref.callers) if source == Source.USER and rng.random() < 0.7 else None
        row = {
            "id": pk,
            "number": f"INC-{number:06d}",
            "title": title,
            "description": f"Generated benchmark incident {number}.",
            "service_id": service,
            "category": "",
            "incident_type": "",
            "source": source,
            "urgency": "",
            "impact": "",
            "severity": "",
            "severity_provisional": False,
            "state": State.LOGGED,
            "tier": Tier.TIER1,
            "assignee_id": None,
            "reporter_id": reporter,
            "caller_id": caller,
            "caller_name": "",
            "caller_email": "",
            "is_major": False,
            "detected_at": created - timedelta(minutes=rng.uniform(0, 30)),
            "created_at": created,
            "classified_at": None,
            "first_response_at": None,
            "response_due_at": None,
            "resolution_due_at": None,
            "on_hold_reason": "",
            "on_hold_since": None,
            "on_hold_seconds": 0,
            "resolved_at": None,
            "closed_at": None,
            "reopen_count": 0,
            "resolution_code": "",
            "resolution_notes": "",
            "diagnosis": "",
            "root_cause": "",
            "workaround": "",
            "closure_notes": "",
            "closed_by": "",
            "cancel_reason": "",
            "problem_id": None,
            "change_ref": "",
            "parent_id": None,
            "updated_at": created,
        }
        actor = reporter
        self._change(row, created, actor, "+", None, kind=EventKind.CREATED, transition="")
        if state == State.CANCELLED:
            at = created + timedelta(minutes=rng.uniform(1, 120))
            row["cancel_reason"] = "Duplicate alert" if source == Source.MONITORING else "Logged by mistake"
            self._transition(row, at, rng.choice(ref.managers), State.CANCELLED, "cancel")
            return self._write(row)
        if state == State.LOGGED:
            return self._write(row)

        response_target, resolution_target = ref.targets[severity]
        at = created + min(response_target / 4, timedelta(minutes=rng.uniform(1, 20)))
        if at >= self.now:
            at = created + (self.now - created) / 3
        row.update(
            category=category,
            incident_type=incident_type,
            urgency=urgency,
            impact=impact,
            severity=severity,
            classified_at=at,
            response_due_at=created + response_target,
            resolution_due_at=created + resolution_target,
            is_major=severity == "S1" and rng.random() < 0.3,
        )
        self._transition(row, at, rng.choice(ref.desk), State.CLASSIFIED, "classify")
        if state == State.CLASSIFIED:
            return self._finish_open(row)

        tier = rng.choices([Tier.TIER1, Tier.TIER2, Tier.TIER3, Tier.EXTERNAL], [25, 50, 20, 5])[0]
        assignee = rng.choice(ref.tier_users[tier])
        late = rng.random() < 0.08  # about 8 % miss the response target
        at = created + response_target * (rng.uniform(1.0, 2.5) if late else rng.uniform(0.05, 0.95))
        if state != State.CLOSED and at >= self.now:
            at = row["classified_at"] + (self.now - row["classified_at"]) / 2
        row.update(assignee_id=assignee, tier=tier, first_response_at=at)
        self._transition(row, at, assignee, State.INVESTIGATING, "investigate")
        if rng.random() < 0.12 or state == State.ON_HOLD:  # some wait for a user, a vendor, a change
            hold_at = at + timedelta(minutes=rng.uniform(5, 240))
            if state == State.ON_HOLD:
                hold_at = min(hold_at, at + (self.now - at) / 2)
                row.update(on_hold_reason=self._pick({r: 1 for r in HoldReason}), on_hold_since=hold_at)
                self._transition(row, hold_at, assignee, State.ON_HOLD, "hold")
                return self._finish_open(row)
            held = int(rng.uniform(600, 3 * 86400))
            row.update(on_hold_reason=rng.choice(list(HoldReason)), on_hold_since=hold_at)
            self._transition(row, hold_at, assignee, State.ON_HOLD, "hold")
            at = hold_at + timedelta(seconds=held)
            row.update(on_hold_reason="", on_hold_since=None, on_hold_seconds=held)
            row["resolution_due_at"] = created + resolution_target + timedelta(seconds=held)
            if at >= self.now and state == State.INVESTIGATING:
                at = hold_at + (self.now - hold_at) / 2
            self._transition(row, at, assignee, State.INVESTIGATING, "resume")
        if state == State.INVESTIGATING:
            return self._finish_open(row)

        # Resolution: lognormal around half the target; about 10 % breach.
        span = resolution_target * rng.lognormvariate(-0.9, 0.8) + timedelta(seconds=row["on_hold_seconds"])
        resolved = max(at + timedelta(minutes=rng.uniform(1, 30)), created + span)
        if resolved >= self.now - timedelta(hours=1):
            resolved = at + (self.now - at) / 2
        self._escalations(row, resolved)
        row.update(
            resolved_at=resolved,
            resolution_code=rng.choices(list(ResolutionCode), [70, 15, 10, 2, 3])[0],
            resolution_notes="Fixed and verified.",
        )
        if severity in ("S1", "S2"):
            row.update(diagnosis="Diagnosed from the monitoring data.", root_cause="Hardware fault.")
        self._transition(row, resolved, assignee, State.RESOLVED, "resolve")
        if state == State.RESOLVED:
            return self._finish_open(row)
        closed_by = rng.choices(list(ClosedBy), [30, 40, 30])[0]
        closed = resolved + timedelta(days=5 if closed_by == ClosedBy.AUTO else 0, hours=rng.uniform(0.5, 48))
        row.update(closed_at=min(closed, self.now), closed_by=closed_by)
        if closed_by == ClosedBy.STAFF:
            row["closure_notes"] = "Closed after review."
        self._transition(row, row["closed_at"], rng.choice(ref.managers), State.CLOSED, "close")
        return self._write(row)

    def _escalations(self, row: dict, until: datetime) -> None:
        """The hierarchical steps that fell due before `until` (50 %, 75 %, 100 % of the resolution clock)."""
        due = row["resolution_due_at"]
        target = due - row["created_at"]
        for step in self.ref.steps.get(row["severity"], []):
            if step.clock != "resolution":
                continue
            at = row["created_at"] + target * step.percent / 100
            if at >= until:
                break
            fired = at + timedelta(seconds=self.rng.uniform(0, 50))
            self.escalations.write(
                "\t".join(
                    [
                        str(row["id"]),
                        EventKind.ESCALATION,
                        f"step-{step.pk}",
                        str(step.pk),
                        str(step.level),
                        row["tier"],
                        row["tier"],
                        ts(at),
                        ts(fired),
                        f"{step.percent} % of the resolution time elapsed",
                        "\\N",
                    ]
                )
                + "\n"
            )
            self.counts["escalations"] += 1

    def _transition(self, row: dict, at: datetime, actor: int, to_state: str, name: str) -> None:
        from_state = row["state"]
        row["state"] = to_state
        row["updated_at"] = at
        self._change(row, at, actor, "~", from_state, kind=EventKind.TRANSITION, transition=name)

    def _change(self, row, at, actor, history_type, from_state, *, kind, transition) -> None:
        self.counts["history"] += 1
        values = [row[c] for c in HISTORY_COLUMNS[:-5]]
        reason = transition or "logged"
        values += [self.counts["history"] + self.history_base, at, reason, history_type, actor]
        self.history.write("\t".join(ts(v) if isinstance(v, datetime) else text(v) for v in values) + "\n")
        self.counts["timeline"] += 1
        event = [
            self.counts["timeline"] + self.timeline_base,
            row["id"],
            kind,
            actor,
            ts(at),
            from_state or "",
            row["state"] if from_state else "",
            transition,
            "",
            Visibility.PUBLIC if kind == EventKind.CREATED else Visibility.INTERNAL,
            "{}",
        ]
        self.timeline.write("\t".join(text(v) for v in event) + "\n")

    def _finish_open(self, row: dict) -> None:
        """An open or resolved incident: its escalation schedule's next step lies ahead."""
        if row["severity"] and row["state"] != State.RESOLVED:
            steps = self.ref.steps.get(row["severity"], [])
            step = steps[-1] if steps else None
            next_at = self.now + timedelta(hours=self.rng.uniform(1, 72))
            values = [row["id"], step.pk if step else None, next_at, uuid.uuid4(), None, None, None]
            self.schedules.write(
                "\t".join(ts(v) if isinstance(v, datetime) else text(v) for v in values) + "\n"
            )
            self.counts["schedules"] += 1
        self._write(row)

    def _write(self, row: dict) -> None:
        self.incidents.write(
            "\t".join(ts(row[c]) if isinstance(row[c], datetime) else text(row[c]) for c in INCIDENT_COLUMNS)
            + "\n"
        )
        self.counts["incidents"] += 1

    def take(self) -> list[tuple[str, list[str], str]]:
        """The rows built since the last call, per table, as COPY text; the buffers start again empty."""
        batch = []
        for table, columns, buffer in (
            ("incidents_incident", INCIDENT_COLUMNS, self.incidents),
            ("incidents_historicalincident", HISTORY_COLUMNS, self.history),
            ("incidents_timelineevent", TIMELINE_COLUMNS, self.timeline),
            ("escalation_escalationevent", ESCALATION_EVENT_COLUMNS, self.escalations),
            ("escalation_incidentescalation", SCHEDULE_COLUMNS, self.schedules),
        ):
            batch.append((table, columns, buffer.getvalue()))
            buffer.seek(0)
            buffer.truncate()
        return batch


def copy_batch(batch, *, fast: bool, last_number: int, generated: int) -> float:
    """Write one batch and the counters in one transaction; returns the seconds it took."""
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        if fast:  # the rows are consistent by construction; check constraints still apply
            cursor.execute("SET LOCAL session_replication_role = replica")
        for table, columns, data in batch:
            if data:
                with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    copy.write(data)
        NumberSequence.objects.filter(name="incident").update(last_value=last_number)
        NumberSequence.objects.filter(name=MARKER).update(last_value=generated)
    return time.monotonic() - started


def bump_sequence(cursor, table: str, column: str = "id") -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
        f"GREATEST((SELECT COALESCE(MAX({column}), 0) FROM {table}), 1))"
    )


def generate(
    *, n: int, seed: int, force: bool, open_count: int = 300, no_fast: bool = False, threaded: bool = True
) -> int:
    """Add incidents until `n` exist. About `open_count` of them are open and a fifth of that resolved waiting
    for closure, whatever `n`: a lab's work in progress does not grow with its history, so the lists of open
    work compare across sizes."""
    if connection.vendor != "postgresql":
        raise SystemExit("bench/generate.py needs PostgreSQL (DATABASE_URL=postgres://...)")
    total = Incident.objects.count()
    marker, _ = NumberSequence.objects.get_or_create(name=MARKER)
    generated = marker.last_value
    if total > generated and not force:
        raise SystemExit(
            f"the database holds {total - generated:,} incidents this script did not write; "
            "use a database of its own, or --force"
        )
    missing = n - total
    if missing <= 0:
        print(f"{total:,} incidents already; nothing to add", file=sys.stderr)
        return 0
    now = timezone.now().replace(microsecond=0)
    ref = Reference(since=now - timedelta(days=365 * YEARS + 30))
    open_now = Incident.objects.filter(state__in=OPEN_STATES).count()
    resolved_now = Incident.objects.filter(state=State.RESOLVED).count()
    generator = Generator(
        ref=ref,
        now=now,
        seed=seed + total,
        open_fraction=min(0.5, max(0, open_count - open_now) / missing),
        resolved_fraction=min(0.1, max(0, open_count // 5 - resolved_now) / missing),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM incidents_incident")
        next_id = cursor.fetchone()[0] + 1
        cursor.execute("SELECT COALESCE(MAX(history_id), 0) FROM incidents_historicalincident")
        generator.history_base = cursor.fetchone()[0]
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM incidents_timelineevent")
        generator.timeline_base = cursor.fetchone()[0]
    sequence, _ = NumberSequence.objects.get_or_create(name="incident")
    next_number = sequence.last_value + 1
    # Foreign keys are checked by one trigger per row and key; a superuser may skip them while loading.
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        fast = cursor.fetchone()[0] and not no_fast
    started, built, copied = time.monotonic(), 0.0, 0.0
    # One thread writes a batch while the main one builds the next (PostgreSQL works on the other core).
    writer = ThreadPoolExecutor(max_workers=1) if threaded else None
    pending = None
    with tqdm(total=missing, unit="inc", unit_scale=True, desc="incidents") as progress:
        done = 0
        while done < missing:
            size = min(BATCH, missing - done)
            building = time.monotonic()
            for i in range(size):
                generator.incident(next_id + done + i, next_number + done + i)
            built += time.monotonic() - building
            counters = {"last_number": next_number + done + size - 1, "generated": generated + done + size}
            if writer is None:
                copied += copy_batch(generator.take(), fast=fast, **counters)
            else:
                if pending is not None:
                    copied += pending.result()
                pending = writer.submit(copy_batch, generator.take(), fast=fast, **counters)
            done += size
            progress.update(size)
        if writer is not None:
            copied += pending.result()
            writer.submit(lambda: connection.close()).result()  # the writer thread's own connection
            writer.shutdown()
    with connection.cursor() as cursor:
        for table in ("incidents_incident", "incidents_timelineevent", "escalation_escalationevent"):
            bump_sequence(cursor, table)
        bump_sequence(cursor, "incidents_historicalincident", "history_id")
        print("ANALYZE ...", file=sys.stderr)
        cursor.execute("ANALYZE")
    elapsed = time.monotonic() - started
    counts = ", ".join(f"{value:,} {key}" for key, value in generator.counts.items())
    print(
        f"added {counts} in {elapsed:.0f} s ({missing / elapsed:,.0f} incidents/s; building rows {built:.0f} s, "
        f"COPY {copied:.0f} s, overlapping{', foreign-key triggers skipped' if fast else ''})",
        file=sys.stderr,
    )
    return missing


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="incidents wanted in total (default 1M)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--open", type=int, default=300, help="about how many are open (default 300)")
    parser.add_argument(
        "--check-foreign-keys", action="store_true", help="keep PostgreSQL's foreign-key triggers on (slower)"
    )
    parser.add_argument("--force", action="store_true", help="add to a database holding other incidents")
    args = parser.parse_args(argv)
    generate(
        n=args.n, seed=args.seed, force=args.force, open_count=args.open, no_fast=args.check_foreign_keys
    )


if __name__ == "__main__":
    main()
