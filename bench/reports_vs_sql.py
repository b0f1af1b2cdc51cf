#!/usr/bin/env python
"""Benchmark: the monthly service-impact selector against one hand-written SQL query computing the same
numbers (issue 4: "within 1.5x of a hand-written SQL query" on a 1M-incident database).

Runs against the configured database (DATABASE_URL). It first tops the database up with synthetic
incidents written directly with bulk_create (numbers BENCH-…, spread over the 12 months before --month,
10 services, realistic severities, durations, overlaps, reopenings and cancellations), then times both
sides, checks that they agree on every number of the report month, and prints the ratio.

Quick run (SQLite file, a few seconds):

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 .venv/bin/python manage.py migrate
    DATABASE_URL=sqlite:////tmp/bench.sqlite3 .venv/bin/python bench/reports_vs_sql.py --incidents 20000

At scale (PostgreSQL; generating 1M rows takes a few minutes, later runs reuse them):

    createdb itsm_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/itsm_bench .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/itsm_bench \\
        .venv/bin/python bench/reports_vs_sql.py --incidents 1000000 --repeat 5

It refuses a database that holds real (non-BENCH) incidents unless --allow-existing; --cleanup deletes the
synthetic rows afterwards. Exit status 1 when the two sides disagree or the ratio exceeds --max-ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itsm.settings")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from incidents.choices import OTHER_TYPES, Category, Severity, State, types_of  # noqa: E402
from incidents.models import Incident, Service  # noqa: E402
from reporting import selectors  # noqa: E402
from reporting.periods import months_back, parse_month  # noqa: E402
from reporting.sql import seconds_between_sql, timestamp_param  # noqa: E402

PREFIX = "BENCH-"
SERVICES = 10
SEVERITY_WEIGHTS = {"S1": 5, "S2": 15, "S3": 40, "S4": 40}
RESPONSE = {"S1": 15, "S2": 30, "S3": 240, "S4": 1440}  # minutes
RESOLUTION = {"S1": 4, "S2": 8, "S3": 24, "S4": 72}  # hours


def generate(count: int, *, month, seed: int) -> int:
    """Add synthetic incidents until `count` BENCH rows exist; returns how many were added."""
    existing = Incident.objects.filter(number__startswith=PREFIX).count()
    missing = count - existing
    if missing <= 0:
        return 0
    services = [
        Service.objects.get_or_create(slug=f"bench-{i}", defaults={"name": f"Bench service {i:02d}"})[0]
        for i in range(SERVICES)
    ]
    rng = random.Random(seed + existing)
    window_end = month.end
    window = timedelta(days=365)
    types = [*types_of(Category.INFRASTRUCTURE), *[OTHER_TYPES[Category.INFRASTRUCTURE]] * 3]
    severities, weights = zip(*SEVERITY_WEIGHTS.items(), strict=True)
    batch: list[Incident] = []
    start_time = time.monotonic()
    for n in range(existing, count):
        severity = rng.choices(severities, weights)[0]
        created = window_end - window * rng.random()
        detected = created - timedelta(minutes=rng.uniform(0, 30))
        response_due = created + timedelta(minutes=RESPONSE[severity])
        on_hold = int(rng.random() < 0.1) * rng.randint(600, 6 * 3600)
        resolution_due = created + timedelta(hours=RESOLUTION[severity], seconds=on_hold)
        roll = rng.random()
        state = State.CLOSED
        first_response = created + timedelta(minutes=RESPONSE[severity] * rng.lognormvariate(-0.3, 0.6))
        resolved = created + timedelta(hours=RESOLUTION[severity] * rng.lognormvariate(-0.5, 0.7))
        closed = resolved + timedelta(hours=rng.uniform(1, 48))
        if roll < 0.02:
            state, first_response, resolved, closed = State.CANCELLED, None, None, None
        elif roll < 0.05 or resolved > window_end + timedelta(days=30):
            state, resolved, closed = State.INVESTIGATING, None, None
        elif roll < 0.15:
            state, closed = State.RESOLVED, None
        batch.append(
            Incident(
                number=f"{PREFIX}{n:07d}",
                title="Synthetic benchmark incident",
                service=services[rng.randrange(SERVICES)] if rng.random() > 0.01 else None,
                category="infrastructure",
                incident_type=rng.choice(types),
                severity=severity,
                urgency="high",
                impact="high",
                state=state,
                detected_at=detected,
                created_at=created,
                classified_at=created,
                first_response_at=first_response,
                response_due_at=response_due,
                resolution_due_at=resolution_due,
                on_hold_seconds=on_hold,
                resolved_at=resolved,
                closed_at=closed,
                reopen_count=int(rng.random() < 0.04),
            )
        )
        if len(batch) == 5000:
            with transaction.atomic():
                Incident.objects.bulk_create(batch)
            batch = []
            done = n + 1 - existing
            rate = done / (time.monotonic() - start_time)
            print(f"\r  generated {done:,}/{missing:,} ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    if batch:
        with transaction.atomic():
            Incident.objects.bulk_create(batch)
    print(file=sys.stderr)
    return missing


HAND_WRITTEN = """
WITH months (idx, starts_at, ends_at) AS (VALUES {months}),
created AS (
    SELECT m.idx, i.service_id, i.severity, i.incident_type, COUNT(*) AS n,
           SUM(CASE WHEN i.problem_id IS NOT NULL THEN 1 ELSE 0 END) AS linked
    FROM {incident} i JOIN months m ON i.created_at >= m.starts_at AND i.created_at < m.ends_at
    WHERE i.state <> %s AND i.created_at >= %s AND i.created_at < %s
    GROUP BY m.idx, i.service_id, i.severity, i.incident_type
),
resolved AS (
    SELECT m.idx, i.service_id, i.severity, COUNT(*) AS n,
           SUM({resolution_seconds}) AS seconds,
           SUM(CASE WHEN i.resolution_due_at IS NOT NULL AND NOT {self_healed} THEN 1 ELSE 0 END) AS judged,
           SUM(CASE WHEN i.resolved_at <= i.resolution_due_at AND NOT {self_healed} THEN 1 ELSE 0 END)
               AS in_time,
           SUM(CASE WHEN i.reopen_count > 0 THEN 1 ELSE 0 END) AS reopened
    FROM {incident} i JOIN months m ON i.resolved_at >= m.starts_at AND i.resolved_at < m.ends_at
    WHERE i.state <> %s AND i.resolved_at >= %s AND i.resolved_at < %s
    GROUP BY m.idx, i.service_id, i.severity
),
clipped AS (
    SELECT m.idx, i.id, i.service_id, i.severity,
           CASE WHEN i.detected_at > m.starts_at THEN i.detected_at ELSE m.starts_at END AS s,
           CASE WHEN COALESCE(i.resolved_at, %s) < m.ends_at THEN COALESCE(i.resolved_at, %s)
                ELSE m.ends_at END AS e
    FROM {incident} i
    JOIN months m ON i.detected_at < m.ends_at AND (i.resolved_at IS NULL OR i.resolved_at > m.starts_at)
    WHERE i.severity IN ('S1', 'S2') AND i.state <> %s
      AND i.detected_at < %s AND (i.resolved_at IS NULL OR i.resolved_at > %s)
),
ordered AS (
    SELECT idx, service_id, severity, s, e,
           MAX(e) OVER (PARTITION BY idx, service_id, severity ORDER BY s, e, id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_to
    FROM clipped WHERE s < e
),
impact AS (
    SELECT idx, service_id, severity,
           SUM(CASE WHEN covered_to IS NULL OR covered_to <= s THEN {seconds_s_e}
                    WHEN covered_to < e THEN {seconds_c_e} ELSE 0 END) AS seconds
    FROM ordered GROUP BY idx, service_id, severity
)
SELECT 'created', idx, service_id, severity, incident_type, n, linked, NULL, NULL, NULL FROM created
UNION ALL
SELECT 'resolved', idx, service_id, severity, NULL, n, seconds, judged, in_time, reopened FROM resolved
UNION ALL
SELECT 'impact', idx, service_id, severity, NULL, NULL, seconds, NULL, NULL, NULL FROM impact
"""


def hand_written(month, now) -> dict:
    """The same numbers in one statement; returns the report month's per-service figures."""
    months = months_back(month, selectors.TREND_MONTHS)
    values = ", ".join(f"({i}, %s, %s)" for i in range(len(months)))
    if connection.vendor == "postgresql":
        values = values.replace("(0, %s, %s)", "(0, CAST(%s AS timestamptz), CAST(%s AS timestamptz))", 1)
    sql = HAND_WRITTEN.format(
        months=values,
        incident=connection.ops.quote_name(Incident._meta.db_table),
        resolution_seconds=seconds_between_sql(connection, "i.created_at", "i.resolved_at"),
        seconds_s_e=seconds_between_sql(connection, "s", "e"),
        seconds_c_e=seconds_between_sql(connection, "covered_to", "e"),
        # Self-healed (`selectors.self_healed_q`): resolved by monitoring before any person responded.
        self_healed="(i.source = 'monitoring' AND i.first_response_at IS NULL)",
    )

    def p(value):
        return timestamp_param(connection, value)

    first, last = p(months[0].start), p(months[-1].end)
    params = [x for m in months for x in (p(m.start), p(m.end))]
    params += [State.CANCELLED, first, last, State.CANCELLED, first, last]
    params += [p(now), p(now), State.CANCELLED, last, first]
    figures: dict = defaultdict(lambda: defaultdict(float))
    current = len(months) - 1
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, idx, service_id, severity, _type, n, a, judged, in_time, reopened in cursor:
            if idx != current:
                continue
            row = figures[service_id]
            if kind == "created":
                row[severity or "unclassified"] += n
            elif kind == "resolved":
                row["resolved"] += n
                row["seconds"] += a or 0
                row["judged"] += judged
                row["in_time"] += in_time
                row["reopened"] += reopened
            elif severity == Severity.S1:
                row["outage"] += a or 0
            else:
                row["degraded"] += a or 0
    return figures


def best_of(repeat: int, function) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def compare(report: dict, figures: dict) -> list[str]:
    """Differences between the selector's report month and the hand-written figures (none expected)."""
    slugs = dict(Service.objects.values_list("slug", "pk"))
    problems = []
    for row in report["services"]:
        sql = figures.get(slugs.get(row["service"]), defaultdict(float))
        expected = {
            "S1": sql["S1"],
            "S2": sql["S2"],
            "S3": sql["S3"],
            "S4": sql["S4"],
            "outage_minutes": round(round(sql["outage"]) / 60, 2),
            "degraded_minutes": round(round(sql["degraded"]) / 60, 2),
            "mttr_seconds": round(sql["seconds"] / sql["resolved"]) if sql["resolved"] else None,
            "sla_compliance": round(sql["in_time"] / sql["judged"], 4) if sql["judged"] else None,
            "reopen_rate": round(sql["reopened"] / sql["resolved"], 4) if sql["resolved"] else None,
        }
        got = {
            **{k: row["incidents"][k] for k in ("S1", "S2", "S3", "S4")},
            **{k: row[k] for k in expected if k in row},
        }
        for key, value in expected.items():
            if got[key] != value and not (isinstance(value, float) and abs(got[key] - value) < 0.02):
                problems.append(f"{row['service']}.{key}: selector {got[key]} != SQL {value}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--incidents", type=int, default=20_000, help="synthetic incidents to have (default 20000)"
    )
    parser.add_argument("--month", default="2026-10", help="the report month, YYYY-MM (default 2026-10)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side; the best counts")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--max-ratio", type=float, default=1.5)
    parser.add_argument("--allow-existing", action="store_true", help="run on a database with real incidents")
    parser.add_argument("--cleanup", action="store_true", help="delete the synthetic incidents at the end")
    args = parser.parse_args()

    month = parse_month(args.month)
    real = Incident.objects.exclude(number__startswith=PREFIX).count()
    if real and not args.allow_existing:
        print(
            f"{real} real incidents in this database: use a scratch database, or --allow-existing.",
            file=sys.stderr,
        )
        return 2
    added = generate(args.incidents, month=month, seed=args.seed)
    total = Incident.objects.count()
    now = month.end + timedelta(days=10)
    print(f"{connection.vendor}: {total:,} incidents ({added:,} added), report month {month.label}")

    selector_time, report = best_of(args.repeat, lambda: selectors.service_impact(month=month, now=now))
    sql_time, figures = best_of(args.repeat, lambda: hand_written(month, now))
    ratio = selector_time / sql_time if sql_time else float("inf")
    print(f"selector     {selector_time * 1000:9.1f} ms  (best of {args.repeat})")
    print(f"hand-written {sql_time * 1000:9.1f} ms  (best of {args.repeat})")
    print(f"ratio        {ratio:9.2f}  (limit {args.max_ratio})")
    problems = compare(report, figures)
    for problem in problems[:20]:
        print("MISMATCH", problem)
    if not problems:
        print("numbers agree for every service")
    if args.cleanup:
        deleted, _ = Incident.objects.filter(number__startswith=PREFIX).delete()
        Service.objects.filter(slug__startswith="bench-").delete()
        print(f"deleted {deleted:,} synthetic rows")
    return 1 if problems or ratio > args.max_ratio else 0


if __name__ == "__main__":
    sys.exit(main())
