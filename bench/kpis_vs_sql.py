"""The KPIs of one period in one hand-written PostgreSQL statement, to time `reporting.selectors.kpis` against
(issue 12: "KPIs for one month, next to a hand-written SQL query that computes the same numbers on the same
database"), and `compare()` to check that both say the same.

The statement is written independently of the selector's ORM query: every number comes straight out of
`GROUPING SETS ((severity), (category), ())` (the selector adds up (severity, category) rows in Python), and
the 90th percentile is PostgreSQL's `percentile_disc(0.9)`, which is the nearest rank ceil(0.9 n) the
selector finds with ROW_NUMBER/COUNT windows. The definitions are those of `reporting.kpi_definitions`;
period bounds are local midnights in settings.TIME_ZONE (`reporting.periods`).

Used by bench/run.py (`KPIs, one month` and `KPIs, hand-written SQL`) and by tests/test_bench_kpis.py,
which holds the two to the same numbers on a varied set of incidents.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import NotSupportedError, connection

from incidents.choices import Category, Severity, Source, State
from incidents.models import Incident
from reporting.periods import Period, day_range
from reporting.sql import seconds_between_sql, timestamp_param

SEVERITIES = tuple(Severity.values)
UNCLASSIFIED = "unclassified"
COUNTS = ("created", "resolved", "closed", "self_healed", "open_at_end")

HAND_WRITTEN = """
WITH flagged AS (
    SELECT COALESCE(NULLIF(i.severity, ''), 'unclassified') AS severity,
           COALESCE(NULLIF(i.category, ''), 'unclassified') AS category,
           i.created_at >= %(start)s AND i.created_at < %(end)s AS created,
           COALESCE(i.resolved_at >= %(start)s AND i.resolved_at < %(end)s, false) AS resolved,
           COALESCE(i.closed_at >= %(start)s AND i.closed_at < %(end)s, false) AS closed,
           i.created_at < %(end)s AND (i.resolved_at IS NULL OR i.resolved_at >= %(end)s) AS open_at_end,
           -- self-healed (`selectors.self_healed_q`): raised by monitoring, resolved, nobody responded
           (i.source = %(monitoring)s AND i.resolved_at IS NOT NULL AND i.first_response_at IS NULL)
               AS self_healed,
           i.first_response_at IS NOT NULL AS answered,
           i.resolution_due_at IS NOT NULL AS has_resolution_due,
           COALESCE(i.resolved_at <= i.resolution_due_at, false) AS resolved_in_time,
           COALESCE(i.first_response_at <= i.response_due_at, false) AS answered_in_time,
           i.response_due_at IS NOT NULL AND (i.first_response_at IS NOT NULL OR i.response_due_at < %(now)s)
               AS response_decided,
           i.reopen_count > 0 AS reopened,
           {resolution_seconds} AS resolution_seconds,
           {response_seconds} AS response_seconds
    FROM {incident} i
    WHERE i.state <> %(cancelled)s
      AND ((i.created_at >= %(start)s AND i.created_at < %(end)s)
           OR (i.resolved_at >= %(start)s AND i.resolved_at < %(end)s)
           OR (i.closed_at >= %(start)s AND i.closed_at < %(end)s)
           OR (i.created_at < %(end)s AND (i.resolved_at IS NULL OR i.resolved_at >= %(end)s)))
)
SELECT GROUPING(severity) AS not_by_severity, GROUPING(category) AS not_by_category, severity, category,
       COUNT(*) FILTER (WHERE created) AS created,
       COUNT(*) FILTER (WHERE resolved) AS resolved,
       COUNT(*) FILTER (WHERE closed) AS closed,
       COUNT(*) FILTER (WHERE resolved AND self_healed) AS self_healed,
       COUNT(*) FILTER (WHERE open_at_end) AS open_at_end,
       AVG(resolution_seconds) FILTER (WHERE resolved) AS mttr,
       AVG(response_seconds) FILTER (WHERE created AND answered) AS first_response,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY response_seconds) FILTER (WHERE created AND answered)
           AS first_response_p90,
       COUNT(*) FILTER (WHERE resolved AND reopened) AS reopened,
       COUNT(*) FILTER (WHERE resolved AND has_resolution_due AND NOT self_healed) AS resolution_judged,
       COUNT(*) FILTER (WHERE resolved AND resolved_in_time AND NOT self_healed) AS resolved_in_time,
       COUNT(*) FILTER (WHERE created AND response_decided AND NOT self_healed) AS response_judged,
       COUNT(*) FILTER (WHERE created AND answered_in_time) AS answered_in_time,
       COUNT(*) FILTER (WHERE resolved AND has_resolution_due AND self_healed) AS self_healed_judged,
       COUNT(*) FILTER (WHERE resolved AND resolved_in_time AND self_healed) AS self_healed_in_time
FROM flagged
GROUP BY GROUPING SETS ((severity), (category), ())
"""


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _seconds(value) -> int | None:
    return None if value is None else round(float(value))


def hand_written(*, start: date, end: date, now: datetime) -> dict:
    """The numbers `reporting.selectors.kpis(start=start, end=end, now=now)` returns, in its shape (without
    the period's dates and the targets, which are not computed from incidents)."""
    return period_hand_written(period=day_range(start, end), now=now)


def period_hand_written(*, period: Period, now: datetime) -> dict:
    if connection.vendor != "postgresql":
        raise NotSupportedError("The hand-written KPI query is PostgreSQL (GROUPING SETS, percentile_disc).")
    sql = HAND_WRITTEN.format(
        incident=connection.ops.quote_name(Incident._meta.db_table),
        resolution_seconds=seconds_between_sql(connection, "i.created_at", "i.resolved_at"),
        response_seconds=seconds_between_sql(connection, "i.created_at", "i.first_response_at"),
    )
    params = {
        "start": timestamp_param(connection, period.start),
        "end": timestamp_param(connection, period.end),
        "now": timestamp_param(connection, now),
        "monitoring": Source.MONITORING,
        "cancelled": State.CANCELLED,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    overall = next((r for r in rows if r["not_by_severity"] and r["not_by_category"]), None)
    by_severity = {r["severity"]: r for r in rows if not r["not_by_severity"]}
    by_category = {r["category"]: r for r in rows if not r["not_by_category"]}
    nothing: dict = {}
    overall = overall or nothing  # no incident at all in the period: no row, not even the total

    def per_severity(name: str) -> dict:
        values = {s: _seconds(by_severity.get(s, nothing).get(name)) for s in SEVERITIES}
        return {**values, "all": _seconds(overall.get(name))}

    def count(row: dict, name: str) -> int:
        return row.get(name) or 0

    return {
        "mttr_seconds": per_severity("mttr"),
        "first_response_seconds": per_severity("first_response"),
        "first_response_p90_seconds": per_severity("first_response_p90"),
        "reopen_rate": _rate(count(overall, "reopened"), count(overall, "resolved")),
        "sla_compliance": _rate(count(overall, "resolved_in_time"), count(overall, "resolution_judged")),
        "response_sla_compliance": _rate(
            count(overall, "answered_in_time"), count(overall, "response_judged")
        ),
        "self_healed_sla_compliance": _rate(
            count(overall, "self_healed_in_time"), count(overall, "self_healed_judged")
        ),
        "counts": {
            name: {
                "all": count(overall, name),
                "by_severity": {
                    s: count(by_severity.get(s, nothing), name) for s in (*SEVERITIES, UNCLASSIFIED)
                },
                "by_category": {
                    c: count(by_category.get(c, nothing), name) for c in (*Category.values, UNCLASSIFIED)
                },
            }
            for name in COUNTS
        },
    }


def _leaves(value, path: str = ""):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, f"{path}.{key}" if path else str(key))
    else:
        yield path, value


# A mean is a float sum divided by a count; the selector adds its (severity, category) sums in Python, in
# another order than PostgreSQL's AVG, so a mean landing on .5 s may round the other way.
MEAN_TOLERANCE_SECONDS = 1


def compare(report: dict, figures: dict) -> list[str]:
    """Every number on which the selector's report and the hand-written figures differ ("path: selector x !=
    SQL y"); empty when they agree. Means may differ by one second of float rounding; nothing else may."""
    got = dict(_leaves({key: report.get(key) for key in figures}))
    problems = []
    for path, expected in _leaves(figures):
        value = got.get(path)
        is_mean = path.startswith(("mttr_seconds.", "first_response_seconds."))
        close = is_mean and None not in (value, expected) and abs(value - expected) <= MEAN_TOLERANCE_SECONDS
        if value != expected and not close:
            problems.append(f"{path}: selector {value!r} != SQL {expected!r}")
    return problems
