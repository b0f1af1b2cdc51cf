"""Reads for reports: KPIs, the monthly service-impact report, the weekly summary, the major-incident review.

Every number is computed by the database: one grouped query per table (conditional `Count`/`Sum` over
`values()`), window functions for the 90th percentile and for the union of overlapping outages, and Python
only adds up the few grouped rows that come back (never one row per incident). The SQL is portable between
SQLite and PostgreSQL; the only dialect-specific piece is the seconds between two timestamps
(`reporting.sql`).

Conventions shared by every report:

- periods are half-open, [start, end), with boundaries at midnight in `settings.TIME_ZONE` (UTC unless
  configured); see `reporting.periods`;
- cancelled incidents are excluded everywhere;
- durations are seconds, rounded to the second; rates are shares from 0 to 1, rounded to 4 decimals;
- a number with no data behind it (a mean of nothing, a rate over no incidents) is `None` (JSON null);
- an incident's resolution is its last `resolved_at` (a reopen clears it; the next resolution sets it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, TextField, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from escalation.models import EscalationEvent, Notification
from incidents import clocks
from incidents.choices import OTHER_TYPES, Category, EventKind, IncidentType, Severity, Source, State
from incidents.models import Incident, Service, resolution_breached_q, response_breached_q
from incidents.selectors import security_incident_q
from incidents.services import INVESTIGATION_FIELDS
from incidents.timeline import event_summary

from .models import MajorIncidentReview
from .periods import Period, day_range, months_back
from .sql import SecondsBetween, seconds_between_sql, timestamp_param

SEVERITIES = tuple(Severity.values)  # S1..S4
RESTRICTED_TITLE = "Security incident (details restricted)"
UNCLASSIFIED = "unclassified"
TREND_MONTHS = 6  # the report's month and the 5 before it

# The seed's KPI targets: MTTR S1 < 4 h, S2 < 8 h; first response S1 < 15 min, S2 < 30 min; reopen rate
# < 5%; SLA compliance > 95%. Durations in seconds; `below` means the value must stay under the target.
KPI_TARGETS = {
    "mttr_seconds": {"S1": 4 * 3600, "S2": 8 * 3600},
    "first_response_seconds": {"S1": 15 * 60, "S2": 30 * 60},
    "reopen_rate": 0.05,
    "sla_compliance": 0.95,
    "response_sla_compliance": 0.95,
}
BELOW, ABOVE = "<", ">"
KPI_TARGET_RULES = {
    "mttr_seconds": BELOW,
    "first_response_seconds": BELOW,
    "reopen_rate": BELOW,
    "sla_compliance": ABOVE,
    "response_sla_compliance": ABOVE,
}
# Rule thresholds of the service-impact recommendations.
PROBLEM_RECORD_AFTER = 3  # incidents of one type on one service in a month


def reportable_incidents() -> QuerySet[Incident]:
    """Every incident a report counts: all but the cancelled ones."""
    return Incident.objects.exclude(state=State.CANCELLED)


def self_healed_q() -> Q:
    """Self-healed: raised by monitoring and resolved (by monitoring's recovery) before any person
    responded. What a system account does never sets `first_response_at` and a person resolving sets it
    (`incidents.permissions.is_system_account`), so a resolved monitoring incident without a first response
    is one nobody answered. The KPIs count these on their own line, leave them out of the first-response
    figures and give them their own SLA compliance (`reporting.kpi_definitions`)."""
    return Q(source=Source.MONITORING, resolved_at__isnull=False, first_response_at__isnull=True)


# --- small arithmetic on the grouped rows ----------------------------------------------------------------


def _seconds(total: float | None, count: int) -> int | None:
    return round(total / count) if count and total is not None else None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _met(value, target, rule: str) -> bool | None:
    if value is None:
        return None
    return value < target if rule == BELOW else value > target


def _minutes(seconds: float) -> float:
    return round(round(seconds) / 60, 2)


def _between(field_name: str, period: Period) -> Q:
    return Q(**{f"{field_name}__gte": period.start, f"{field_name}__lt": period.end})


# --- KPIs ------------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    """Sums of the grouped KPI rows; means and rates are taken only at the end, so they stay exact."""

    created: int = 0
    resolved: int = 0
    closed: int = 0
    open_at_end: int = 0
    resolution_seconds: float = 0.0
    resolution_judged: int = 0
    resolved_in_time: int = 0
    reopened: int = 0
    responded: int = 0
    response_seconds: float = 0.0
    response_judged: int = 0
    responded_in_time: int = 0
    self_healed: int = 0
    self_healed_judged: int = 0
    self_healed_in_time: int = 0

    def add(self, row: dict) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + (row.get(name) or 0))


def kpis(*, start: date, end: date, now: datetime | None = None) -> dict:
    """The KPIs of [start, end) (end exclusive, local midnights in settings.TIME_ZONE), per severity and
    overall, with the seed's targets and whether each is met. Definitions (seed 6.1; the words the reports
    print are `reporting.kpi_definitions`):

    - MTTR: mean of `resolved_at - created_at` over incidents whose (last) `resolved_at` is in the period;
    - first response: mean (and nearest-rank 90th percentile) of `first_response_at - created_at` over
      incidents created in the period that have a first response (a person's: self-healed ones have none);
    - reopen rate: among incidents resolved in the period, the share with `reopen_count > 0`;
    - SLA compliance: among incidents resolved in the period (and classified, so with a due time), self-healed
      ones excepted, the share resolved by `resolution_due_at`;
    - response SLA compliance: among incidents created in the period whose response is decided (answered,
      or still unanswered past `response_due_at` now), self-healed ones excepted, the share answered by
      `response_due_at`;
    - self-healed SLA compliance: the same as SLA compliance over the self-healed incidents alone;
    - counts: created, resolved, closed, self-healed (resolved) in the period and open at its end, by
      severity and by category.
    """
    return period_kpis(period=day_range(start, end), now=now)


def period_kpis(*, period: Period, now: datetime | None = None) -> dict:
    """`kpis` for any period (the weekly summary passes an ISO week)."""
    now = now or timezone.now()
    created = _between("created_at", period)
    resolved = _between("resolved_at", period)
    closed = _between("closed_at", period)
    open_at_end = Q(created_at__lt=period.end) & (
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=period.end)
    )
    responded = created & Q(first_response_at__isnull=False)
    self_healed = resolved & self_healed_q()
    response_judged = (
        created
        & Q(response_due_at__isnull=False)
        & (Q(first_response_at__isnull=False) | Q(response_due_at__lt=now))
        & ~self_healed_q()
    )
    resolution_judged = resolved & Q(resolution_due_at__isnull=False)
    in_time = Q(resolved_at__lte=F("resolution_due_at"))
    # One grouped query: a row per (severity, category) with every count and sum as a filtered aggregate.
    rows = (
        reportable_incidents()
        .filter(created | resolved | closed | open_at_end)
        .values("severity", "category")
        .order_by()
        .annotate(
            created=Count("pk", filter=created),
            resolved=Count("pk", filter=resolved),
            closed=Count("pk", filter=closed),
            open_at_end=Count("pk", filter=open_at_end),
            resolution_seconds=Sum(SecondsBetween("created_at", "resolved_at"), filter=resolved),
            resolution_judged=Count("pk", filter=resolution_judged & ~self_healed_q()),
            resolved_in_time=Count("pk", filter=resolved & in_time & ~self_healed_q()),
            reopened=Count("pk", filter=resolved & Q(reopen_count__gt=0)),
            responded=Count("pk", filter=responded),
            response_seconds=Sum(SecondsBetween("created_at", "first_response_at"), filter=responded),
            response_judged=Count("pk", filter=response_judged),
            responded_in_time=Count("pk", filter=created & Q(first_response_at__lte=F("response_due_at"))),
            self_healed=Count("pk", filter=self_healed),
            self_healed_judged=Count("pk", filter=resolution_judged & self_healed_q()),
            self_healed_in_time=Count("pk", filter=resolved & in_time & self_healed_q()),
        )
    )
    overall = _Tally()
    by_severity: dict[str, _Tally] = defaultdict(_Tally)
    by_category: dict[str, _Tally] = defaultdict(_Tally)
    for row in rows:
        overall.add(row)
        by_severity[row["severity"] or UNCLASSIFIED].add(row)
        by_category[row["category"] or UNCLASSIFIED].add(row)

    def per_severity(value) -> dict:
        return {**{s: value(by_severity[s]) for s in SEVERITIES}, "all": value(overall)}

    report = {
        "start": period.first_day.isoformat(),
        "end": timezone.localtime(period.end, timezone.get_default_timezone()).date().isoformat(),
        "mttr_seconds": per_severity(lambda t: _seconds(t.resolution_seconds, t.resolved)),
        "first_response_seconds": per_severity(lambda t: _seconds(t.response_seconds, t.responded)),
        "first_response_p90_seconds": _first_response_p90(created),
        "reopen_rate": _rate(overall.reopened, overall.resolved),
        "sla_compliance": _rate(overall.resolved_in_time, overall.resolution_judged),
        "response_sla_compliance": _rate(overall.responded_in_time, overall.response_judged),
        "self_healed_sla_compliance": _rate(overall.self_healed_in_time, overall.self_healed_judged),
        "counts": {
            name: {
                "all": getattr(overall, name),
                "by_severity": {s: getattr(by_severity[s], name) for s in (*SEVERITIES, UNCLASSIFIED)},
                "by_category": {c: getattr(by_category[c], name) for c in (*Category.values, UNCLASSIFIED)},
            }
            for name in ("created", "resolved", "closed", "self_healed", "open_at_end")
        },
    }
    report["targets"] = _targets(report)
    return report


def _targets(report: dict) -> dict:
    targets: dict = {}
    for name, target in KPI_TARGETS.items():
        rule = KPI_TARGET_RULES[name]
        if isinstance(target, dict):
            targets[name] = {
                severity: {"target": value, "rule": rule, "met": _met(report[name][severity], value, rule)}
                for severity, value in target.items()
            }
        else:
            targets[name] = {"target": target, "rule": rule, "met": _met(report[name], target, rule)}
    return targets


def _first_response_p90(created: Q) -> dict:
    """Nearest-rank 90th percentile of the first-response time, per severity and overall: the value at rank
    ceil(0.9 n) of the sorted times, found with ROW_NUMBER/COUNT windows (at most 5 rows come back)."""
    rank_of_p90 = (F("in_severity") * 9 + 9) / 10  # ceil(0.9 n) in integer arithmetic
    overall_rank_of_p90 = (F("in_all") * 9 + 9) / 10
    ordering = [F("seconds").asc(), F("pk").asc()]
    rows = (
        reportable_incidents()
        .filter(created, first_response_at__isnull=False)
        .order_by()  # the windows order what they rank; the model's ordering would only add a sort
        .annotate(
            seconds=SecondsBetween("created_at", "first_response_at"),
            rank_in_severity=Window(RowNumber(), partition_by=[F("severity")], order_by=ordering),
            in_severity=Window(Count("pk"), partition_by=[F("severity")]),
            rank_in_all=Window(RowNumber(), order_by=ordering),
            in_all=Window(Count("pk")),
        )
        .filter(Q(rank_in_severity=rank_of_p90) | Q(rank_in_all=overall_rank_of_p90))
        .values_list("severity", "seconds", "rank_in_severity", "in_severity", "rank_in_all", "in_all")
    )
    result: dict = {s: None for s in SEVERITIES} | {"all": None}
    for severity, seconds, rank, count, overall_rank, overall_count in rows:
        if severity in result and rank == (count * 9 + 9) // 10:
            result[severity] = round(seconds)
        if overall_rank == (overall_count * 9 + 9) // 10:
            result["all"] = round(seconds)
    return result


# --- monthly service-impact report -----------------------------------------------------------------------


@dataclass
class _ServiceMonth:
    """What the grouped queries say about one service (or all of them) in one month."""

    incidents: dict = field(default_factory=lambda: dict.fromkeys((*SEVERITIES, UNCLASSIFIED), 0))
    resolved: int = 0
    resolution_seconds: float = 0.0
    resolution_judged: int = 0
    resolved_in_time: int = 0
    reopened: int = 0
    self_healed: int = 0
    self_healed_judged: int = 0
    self_healed_in_time: int = 0
    outage_seconds: float = 0.0
    degraded_seconds: float = 0.0

    def add(self, other: _ServiceMonth) -> None:
        for key, value in other.incidents.items():
            self.incidents[key] += value
        for name in (
            "resolved",
            "resolution_seconds",
            "resolution_judged",
            "resolved_in_time",
            "reopened",
            "self_healed",
            "self_healed_judged",
            "self_healed_in_time",
            "outage_seconds",
            "degraded_seconds",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def headline(self, *, month: Period, services: int | None) -> dict:
        """The report's numbers. `services`: how many services share the month's minutes (availability is
        1 - outage / their minutes); None where availability means nothing (incidents with no service)."""
        minutes = month.seconds * services if services else 0
        return {
            "incidents": {**self.incidents, "total": sum(self.incidents.values())},
            "outage_minutes": _minutes(self.outage_seconds),
            "degraded_minutes": _minutes(self.degraded_seconds),
            "availability": round(1 - round(self.outage_seconds) / minutes, 6) if minutes else None,
            "mttr_seconds": _seconds(self.resolution_seconds, self.resolved),
            "sla_compliance": _rate(self.resolved_in_time, self.resolution_judged),
            "reopen_rate": _rate(self.reopened, self.resolved),
            "resolved": self.resolved,
            "self_healed": self.self_healed,
            "self_healed_sla_compliance": _rate(self.self_healed_in_time, self.self_healed_judged),
        }


def _month_index(field_name: str, months: list[Period]) -> Case:
    """Which of `months` (consecutive) a timestamp falls in, as 0..n-1 — plain CASE, so it stays SQL and
    uses the boundaries computed in settings.TIME_ZONE."""
    return Case(
        *[When(**{f"{field_name}__lt": m.end}, then=Value(i)) for i, m in enumerate(months)],
        default=Value(None),
        output_field=IntegerField(),
    )


def service_impact(*, month: Period, now: datetime | None = None) -> dict:
    """The monthly service-impact report for management (issue 4), for `month` (a calendar month in
    settings.TIME_ZONE; see `periods.parse_month`). Per service:

    - incidents created in the month by severity;
    - outage minutes: the union of the [detected_at, resolved_at) intervals of its S1 incidents, clipped
      to the month, overlaps counted once; an unresolved incident runs to the month's end or now;
    - degraded minutes: the same for S2;
    - availability = 1 - outage minutes / minutes in the month;
    - MTTR, SLA compliance and reopen rate over the incidents resolved in the month (as in `kpis`: SLA
      compliance leaves the self-healed out), and the self-healed ones counted with their own compliance.

    Totals add the services up (availability is the mean over the services listed). `trend` gives the
    headline numbers of the 5 months before and of this one, oldest first. `recommendations` are
    rule-based, each with the rule that fired and why. Three grouped queries cover all six months.
    """
    now = now or timezone.now()
    months = months_back(month, TREND_MONTHS)
    cells: dict[tuple[int, int | None], _ServiceMonth] = defaultdict(_ServiceMonth)
    by_severity_resolved: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # report month: judged, in time
    by_type: list[dict] = []

    for row in _created_counts(months):
        cells[row["month"], row["service_id"]].incidents[row["severity"] or UNCLASSIFIED] += row["n"]
        if row["month"] == len(months) - 1:
            by_type.append(row)
    for row in _resolution_stats(months):
        cell = cells[row["month"], row["service_id"]]
        cell.resolved += row["resolved"]
        cell.resolution_seconds += row["resolution_seconds"] or 0.0
        cell.resolution_judged += row["resolution_judged"]
        cell.resolved_in_time += row["resolved_in_time"]
        cell.reopened += row["reopened"]
        cell.self_healed += row["self_healed"]
        cell.self_healed_judged += row["self_healed_judged"]
        cell.self_healed_in_time += row["self_healed_in_time"]
        if row["month"] == len(months) - 1 and row["severity"]:
            tally = by_severity_resolved[row["severity"]]
            tally[0] += row["resolution_judged"]
            tally[1] += row["resolved_in_time"]
    for index, service_id, severity, seconds in _impact_seconds(months, now=now):
        cell = cells[index, service_id]
        if severity == Severity.S1:
            cell.outage_seconds += seconds
        else:
            cell.degraded_seconds += seconds

    seen = {service_id for _, service_id in cells if service_id is not None}
    services = list(Service.objects.filter(Q(is_active=True) | Q(pk__in=seen)).order_by("name"))
    current = len(months) - 1

    rows = []
    for service in services:
        rows.append(
            {
                "service": service.slug,
                "name": service.name,
                **cells[current, service.pk].headline(month=month, services=1),
            }
        )
    if (current, None) in cells:
        rows.append(
            {
                "service": None,
                "name": "(no service)",
                **cells[current, None].headline(month=month, services=None),
            }
        )

    def month_total(index: int) -> _ServiceMonth:
        total = _ServiceMonth()
        for (cell_month, _service_id), cell in list(cells.items()):
            if cell_month == index:
                total.add(cell)
        return total

    def availability_total(index: int) -> float | None:
        # Outages of incidents with no service count in the minutes but not against a service.
        outage = sum(
            cell.outage_seconds
            for (cell_month, service_id), cell in cells.items()
            if cell_month == index and service_id is not None
        )
        denominator = months[index].seconds * len(services)
        return round(1 - round(outage) / denominator, 6) if denominator else None

    totals = {**month_total(current).headline(month=month, services=None), "services": len(services)}
    totals["availability"] = availability_total(current)
    trend = []
    for index, period in enumerate(months):
        entry = {"month": period.label, **month_total(index).headline(month=period, services=None)}
        entry["availability"] = availability_total(index)
        trend.append(entry)

    return {
        "month": month.label,
        "start": month.start.isoformat(),
        "end": month.end.isoformat(),
        "time_zone": str(timezone.get_default_timezone()),
        "generated_at": now.isoformat(),
        "services": rows,
        "totals": totals,
        "trend": trend,
        "recommendations": _recommendations(
            month=month,
            rows=rows,
            by_type=by_type,
            by_severity_resolved=by_severity_resolved,
            names={s.pk: s for s in services},
        ),
    }


def _created_counts(months: list[Period]) -> QuerySet:
    """(month, service, severity, type) → incidents created, and how many already have a problem record."""
    return (
        reportable_incidents()
        .filter(created_at__gte=months[0].start, created_at__lt=months[-1].end)
        .annotate(month=_month_index("created_at", months))
        .values("month", "service_id", "severity", "incident_type")
        .order_by()
        .annotate(n=Count("pk"), linked=Count("pk", filter=Q(problem__isnull=False)))
    )


def _resolution_stats(months: list[Period]) -> QuerySet:
    """(month, service, severity) → the resolution numbers over incidents resolved in the month."""
    judged, in_time = Q(resolution_due_at__isnull=False), Q(resolved_at__lte=F("resolution_due_at"))
    return (
        reportable_incidents()
        .filter(resolved_at__gte=months[0].start, resolved_at__lt=months[-1].end)
        .annotate(month=_month_index("resolved_at", months))
        .values("month", "service_id", "severity")
        .order_by()
        .annotate(
            resolved=Count("pk"),
            resolution_seconds=Sum(SecondsBetween("created_at", "resolved_at")),
            resolution_judged=Count("pk", filter=judged & ~self_healed_q()),
            resolved_in_time=Count("pk", filter=in_time & ~self_healed_q()),
            reopened=Count("pk", filter=Q(reopen_count__gt=0)),
            self_healed=Count("pk", filter=self_healed_q()),
            self_healed_judged=Count("pk", filter=judged & self_healed_q()),
            self_healed_in_time=Count("pk", filter=in_time & self_healed_q()),
        )
    )


IMPACT_SQL = """
WITH months (idx, starts_at, ends_at) AS (VALUES {months}),
clipped AS (
    SELECT m.idx, i.id, i.service_id, i.severity,
           CASE WHEN i.detected_at > m.starts_at THEN i.detected_at ELSE m.starts_at END AS s,
           CASE WHEN COALESCE(i.resolved_at, %s) < m.ends_at
                THEN COALESCE(i.resolved_at, %s) ELSE m.ends_at END AS e
    FROM {incident} i
    JOIN months m ON i.detected_at < m.ends_at AND (i.resolved_at IS NULL OR i.resolved_at > m.starts_at)
    WHERE i.severity IN (%s, %s) AND i.state <> %s
      AND i.detected_at < %s AND (i.resolved_at IS NULL OR i.resolved_at > %s)
),
ordered AS (
    SELECT idx, service_id, severity, s, e,
           MAX(e) OVER (PARTITION BY idx, service_id, severity ORDER BY s, e, id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_to
    FROM clipped
    WHERE s < e
)
SELECT idx, service_id, severity,
       SUM(CASE WHEN covered_to IS NULL OR covered_to <= s THEN {seconds_s_e}
                WHEN covered_to < e THEN {seconds_c_e}
                ELSE 0 END) AS seconds
FROM ordered
GROUP BY idx, service_id, severity
"""


def _impact_seconds(months: list[Period], *, now: datetime) -> list[tuple[int, int | None, str, float]]:
    """(month, service, severity S1/S2) → seconds covered by the union of the incidents' [detected_at,
    resolved_at) intervals, each clipped to the month; an unresolved incident runs until now.

    One query. Each interval is clipped to each month it touches (a join with the months), then, per
    (month, service, severity) in order of start, a running MAX window gives how far earlier intervals
    already reach (`covered_to`); an interval adds only the part beyond that, so overlaps count once
    ("gaps and islands" without materialising the islands). Sorting by start makes this exact: everything
    between an interval's start and `covered_to` is already covered by the interval that reaches it."""
    month_values = []
    month_params = []
    for index, period in enumerate(months):
        month_values.append(f"({index}, %s, %s)")
        month_params += [timestamp_param(connection, period.start), timestamp_param(connection, period.end)]
    if connection.vendor == "postgresql":
        month_values[0] = "(0, CAST(%s AS timestamptz), CAST(%s AS timestamptz))"
    sql = IMPACT_SQL.format(
        months=", ".join(month_values),
        incident=connection.ops.quote_name(Incident._meta.db_table),
        seconds_s_e=seconds_between_sql(connection, "s", "e"),
        seconds_c_e=seconds_between_sql(connection, "covered_to", "e"),
    )
    params = [
        *month_params,
        timestamp_param(connection, now),
        timestamp_param(connection, now),
        Severity.S1,
        Severity.S2,
        State.CANCELLED,
        timestamp_param(connection, months[-1].end),
        timestamp_param(connection, months[0].start),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            (idx, service_id, severity, float(seconds or 0)) for idx, service_id, severity, seconds in cursor
        ]


def _recommendations(*, month, rows, by_type, by_severity_resolved, names) -> list[dict]:
    """Rule-based advice, each explained:

    - 3+ incidents of one type (other than a category's "other") on one service in the month → open a problem record
      (unless every one of them is already linked to one);
    - SLA compliance under 95% for a severity → review staffing or targets;
    - a service's reopen rate over 5% → review resolution verification.
    """
    advice: list[dict] = []
    recurring: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for row in by_type:
        if row["incident_type"] and row["incident_type"] not in OTHER_TYPES.values():
            tally = recurring[row["service_id"], row["incident_type"]]
            tally[0] += row["n"]
            tally[1] += row["linked"]
    for (service_id, incident_type), (count, linked) in sorted(
        recurring.items(), key=lambda item: (-item[1][0], str(item[0]))
    ):
        if count < PROBLEM_RECORD_AFTER or linked >= count:
            continue
        service = names.get(service_id)
        where = f"on {service.name}" if service else "with no service"
        label = IncidentType(incident_type).label
        note = f" ({linked} already linked to a problem record)" if linked else ""
        advice.append(
            {
                "rule": "recurring_incidents",
                "action": "Open a problem record",
                "service": service.slug if service else None,
                "severity": None,
                "incident_type": incident_type,
                "explanation": (
                    f"{count} incidents of type {label} {where} in {month.label}{note}: "
                    f"{PROBLEM_RECORD_AFTER} or more of one type suggest a common cause worth finding once."
                ),
            }
        )
    target = KPI_TARGETS["sla_compliance"]
    for severity in SEVERITIES:
        judged, in_time = by_severity_resolved.get(severity, (0, 0))
        rate = _rate(in_time, judged)
        if rate is not None and in_time / judged < target:
            advice.append(
                {
                    "rule": "sla_compliance",
                    "action": "Review staffing or targets",
                    "service": None,
                    "severity": severity,
                    "incident_type": None,
                    "explanation": (
                        f"{severity}: {in_time} of {judged} incidents resolved in {month.label} met the "
                        f"resolution target ({rate:.1%}), under the {target:.0%} SLA compliance target."
                    ),
                }
            )
    limit = KPI_TARGETS["reopen_rate"]
    for row in rows:
        if row["reopen_rate"] is not None and row["reopen_rate"] > limit:
            reopened = round(row["reopen_rate"] * row["resolved"])
            advice.append(
                {
                    "rule": "reopen_rate",
                    "action": "Review resolution verification",
                    "service": row["service"],
                    "severity": None,
                    "incident_type": None,
                    "explanation": (
                        f"{row['name']}: {reopened} of {row['resolved']} incidents resolved in {month.label} "
                        f"had been reopened ({row['reopen_rate']:.1%}), over the {limit:.0%} target."
                    ),
                }
            )
    return advice


# --- weekly incident summary -----------------------------------------------------------------------------


def weekly_summary(*, week: Period, now: datetime | None = None) -> dict:
    """The operations team's week (an ISO week, Monday to Monday in settings.TIME_ZONE): every incident
    created, resolved or open during the week (created before its end and not resolved before its start),
    breaches first, then by severity and logging time; each with its SLA status now (breached, met,
    self-healed, within target, paused, not classified) and what its investigation found (diagnosis, root
    cause, workaround; withheld with the title for a security incident); and the week's KPIs
    (`period_kpis`)."""
    now = now or timezone.now()
    breached = response_breached_q(now) | resolution_breached_q(now)
    incidents = (
        reportable_incidents()
        .filter(created_at__lt=week.end)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=week.start))
    )
    counts = incidents.aggregate(
        listed=Count("pk"),
        breached=Count("pk", filter=breached),
        created=Count("pk", filter=_between("created_at", week)),
        resolved=Count("pk", filter=_between("resolved_at", week)),
        open_at_end=Count("pk", filter=Q(resolved_at__isnull=True) | Q(resolved_at__gte=week.end)),
    )
    rows = (
        incidents.annotate(
            breached=Case(When(breached, then=Value(1)), default=Value(0), output_field=IntegerField()),
            sla_status=Case(
                When(breached, then=Value("breached")),
                When(resolution_due_at__isnull=True, then=Value("not classified")),
                When(self_healed_q(), then=Value("self-healed")),
                When(state__in=clocks.FINISHED, then=Value("met")),
                When(state__in=clocks.PAUSED, then=Value("paused")),
                default=Value("within target"),
            ),
            # The summary goes to a distribution list and is stored for every report reader: a security
            # incident is counted and listed, its title withheld (`incidents.selectors` confidentiality).
            shown_title=Case(
                When(security_incident_q(), then=Value(RESTRICTED_TITLE)),
                default=F("title"),
            ),
            # ... and so is its investigation (seed 2.1: diagnosis, root cause, workaround).
            **{
                f"shown_{field}": Case(
                    When(security_incident_q(), then=Value("")), default=F(field), output_field=TextField()
                )
                for field in INVESTIGATION_FIELDS
            },
            severity_order=Case(
                When(severity="", then=Value(9)),
                *[When(severity=s, then=Value(i)) for i, s in enumerate(SEVERITIES)],
                output_field=IntegerField(),
            ),
        )
        .order_by("-breached", "severity_order", "created_at", "pk")
        .values(
            "number",
            "shown_title",
            "state",
            "severity",
            "service__slug",
            "tier",
            "assignee__username",
            "is_major",
            "created_at",
            "resolved_at",
            "response_due_at",
            "resolution_due_at",
            "sla_status",
            *(f"shown_{field}" for field in INVESTIGATION_FIELDS),
        )
    )
    return {
        "week": week.label,
        "start": week.start.isoformat(),
        "end": week.end.isoformat(),
        "time_zone": str(timezone.get_default_timezone()),
        "generated_at": now.isoformat(),
        "counts": counts,
        "incidents": [
            {
                "number": r["number"],
                "title": r["shown_title"],
                "state": r["state"],
                "severity": r["severity"] or None,
                "service": r["service__slug"],
                "tier": r["tier"],
                "assignee": r["assignee__username"],
                "is_major": r["is_major"],
                "created_at": r["created_at"].isoformat(),
                "resolved_at": r["resolved_at"].isoformat() if r["resolved_at"] else None,
                "resolution_due_at": r["resolution_due_at"].isoformat() if r["resolution_due_at"] else None,
                "sla_status": r["sla_status"],
                **{field: r[f"shown_{field}"] for field in INVESTIGATION_FIELDS},
            }
            for r in rows
        ],
        "kpis": period_kpis(period=week, now=now),
    }


# --- major-incident review -------------------------------------------------------------------------------

# Reasons the incident services give their history rows when they also record a timeline event; the review
# shows those changes once, through the event.
_TOLD_BY_TIMELINE = ("logged", "edited", "classify", "investigate", "hold", "resume", "resolve", "close")
_TOLD_BY_TIMELINE += ("reopen", "cancel")

DURATIONS = (
    ("detection_to_logging", "detected_at", "created_at"),
    ("logging_to_first_response", "created_at", "first_response_at"),
    ("first_response_to_resolution", "first_response_at", "resolved_at"),
    ("resolution_to_closure", "resolved_at", "closed_at"),
    ("detection_to_resolution", "detected_at", "resolved_at"),
    ("detection_to_closure", "detected_at", "closed_at"),
)


def _username(user) -> str | None:
    return user.get_username() if user else None


def review_content(*, review: MajorIncidentReview) -> dict:
    """A review's editable fields and action items (what the Post-Incident Summary carries when it is
    marked final): summary, root cause, lessons learned, what went well and badly, the action items."""
    return {
        "status": review.status,
        "summary": review.summary,
        "root_cause": review.root_cause,
        "what_went_well": review.what_went_well,
        "what_went_badly": review.what_went_badly,
        "lessons_learned": review.lessons_learned,
        "drafted_at": review.drafted_at.isoformat(),
        "updated_at": review.updated_at.isoformat(),
        "finalized_at": review.finalized_at.isoformat() if review.finalized_at else None,
        "action_items": [
            {
                "description": item.description,
                "owner": _username(item.owner),
                "due_date": item.due_date.isoformat() if item.due_date else None,
                "done": item.done_at is not None,
            }
            for item in review.action_items.select_related("owner").order_by("order", "pk")
        ],
    }


def major_incident_review(*, incident: Incident) -> dict:
    """Everything the review of one major incident is about:

    - durations (seconds): detection → logging → first response → resolution → closure, and end to end;
    - SLA outcome: response and resolution, each with its due time, when it happened and whether it was met;
    - escalations fired (`EscalationEvent`) and communications sent (the notification outbox);
    - the full timeline, reconstructed from four sources and labelled with each: the fault's detection; the
      incident's timeline (logging, transitions, severity, assignments, edits, checklist, comments,
      escalation notes); the outbox (one entry per message sent, with its recipients); and the audit
      history for the changes no timeline event tells (major status, tier handovers, changes made outside
      the services);
    - the review's editable fields and action items (None until it is drafted, when the incident is
      resolved).
    """
    incident = Incident.objects.select_related("service", "assignee", "reporter", "problem").get(
        pk=incident.pk
    )
    durations = {}
    for name, start, end in DURATIONS:
        a, b = getattr(incident, start), getattr(incident, end)
        durations[name] = round((b - a).total_seconds()) if a and b else None

    escalations = list(
        EscalationEvent.objects.filter(incident=incident).select_related("actor").order_by("fired_at", "pk")
    )
    notifications = list(Notification.objects.filter(incident=incident).order_by("created_at", "pk"))
    timeline = _reconstructed_timeline(incident, notifications)

    review = getattr(incident, "review", None)
    if review is not None:
        review = review_content(review=review)

    def stamp(value):
        return value.isoformat() if value else None

    return {
        "incident": {
            "number": incident.number,
            "title": incident.title,
            "service": incident.service.slug if incident.service else None,
            "service_name": incident.service.name if incident.service else None,
            "category": incident.category or None,
            "incident_type": incident.incident_type or None,
            "severity": incident.severity or None,
            "state": incident.state,
            "is_major": incident.is_major,
            "assignee": _username(incident.assignee),
            "reporter": _username(incident.reporter),
            "detected_at": stamp(incident.detected_at),
            "created_at": stamp(incident.created_at),
            "first_response_at": stamp(incident.first_response_at),
            "resolved_at": stamp(incident.resolved_at),
            "closed_at": stamp(incident.closed_at),
            "on_hold_seconds": incident.on_hold_seconds,
            "reopen_count": incident.reopen_count,
            "resolution_code": incident.resolution_code or None,
            "resolution_notes": incident.resolution_notes,
            **{field: getattr(incident, field) for field in INVESTIGATION_FIELDS},
            "problem": incident.problem.number if incident.problem else None,
        },
        "durations": durations,
        "sla": {
            "response": {
                "due_at": stamp(incident.response_due_at),
                "at": stamp(incident.first_response_at),
                "met": _outcome(
                    incident.response_due_at, incident.first_response_at, incident.response_breached
                ),
            },
            "resolution": {
                "due_at": stamp(incident.resolution_due_at),
                "at": stamp(incident.resolved_at),
                "met": _outcome(
                    incident.resolution_due_at, incident.resolved_at, incident.resolution_breached
                ),
            },
        },
        "escalations": [
            {
                "fired_at": event.fired_at.isoformat(),
                "kind": event.kind,
                "kind_label": event.get_kind_display(),
                "level": event.level,
                "from_tier": event.from_tier or None,
                "to_tier": event.to_tier or None,
                "due_at": stamp(event.due_at),
                "actor": _username(event.actor),
                "reason": event.reason,
            }
            for event in escalations
        ],
        "communications": [
            {
                "created_at": n.created_at.isoformat(),
                "template": n.template,
                "template_label": n.get_template_display(),
                "channel": n.channel,
                "recipient": n.recipient,
                "subject": n.subject,
                "status": n.status,
                "sent_at": stamp(n.sent_at),
            }
            for n in notifications
        ],
        "timeline": timeline,
        "review": review,
    }


def _outcome(due_at, happened_at, breached: bool) -> bool | None:
    """Met (True) or missed (False); None while undecided (no clock yet, or still running within it)."""
    if due_at is None:
        return None
    if happened_at is not None:
        return happened_at <= due_at
    return False if breached else None


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _reconstructed_timeline(incident: Incident, notifications: list[Notification]) -> list[dict]:
    entries = [
        {
            "at": incident.detected_at,
            "source": "incident",
            "kind": "detected",
            "actor": None,
            "text": "Fault detected",
        }
    ]
    events = incident.timeline.exclude(kind=EventKind.NOTIFICATION).select_related("actor")
    for event in events.order_by("created_at", "pk"):
        text = event_summary(event)  # "Resolved → Closed: …", "Logged: …": each word once
        entries.append(
            {
                "at": event.created_at,
                "source": "timeline",
                "kind": event.transition or event.kind,
                "actor": _username(event.actor),
                "text": text,
            }
        )
    # One entry per message: the outbox has a row per recipient, written together.
    sends: dict[tuple, list[Notification]] = {}
    for notification in notifications:
        sends.setdefault((notification.created_at, notification.template), []).append(notification)
    for (created_at, _template), batch in sends.items():
        emails = [n.recipient for n in batch if n.channel == "email"]
        hooks = [n.recipient for n in batch if n.channel != "email"]
        parts = []
        if emails:
            parts.append(
                f"e-mail to {', '.join(emails[:5])}"
                + (f" and {len(emails) - 5} more" if len(emails) > 5 else "")
            )
        if hooks:
            parts.append(f"webhook {', '.join(hooks)}")
        entries.append(
            {
                "at": created_at,
                "source": "notification",
                "kind": batch[0].template,
                "actor": None,
                "text": f"{batch[0].get_template_display()}: {'; '.join(parts)}",
            }
        )
    records = incident.history.select_related("history_user").order_by("history_date", "history_id")
    previous = None
    for record in records:
        reason = (record.history_change_reason or "").strip()
        told = reason.split(":", 1)[0].strip() in _TOLD_BY_TIMELINE
        if previous is not None and not told:
            changes = record.diff_against(previous).changes
            if changes:
                described = ", ".join(
                    f"{c.field.replace('_', ' ')}: {_shown(c.old)} → {_shown(c.new)}" for c in changes
                )
                entries.append(
                    {
                        "at": record.history_date,
                        "source": "history",
                        "kind": "change",
                        "actor": _username(record.history_user),
                        "text": f"{described}" + (f" ({reason})" if reason else ""),
                    }
                )
        previous = record
    order = {"incident": 0, "timeline": 1, "history": 2, "notification": 3}
    entries.sort(key=lambda e: (e["at"], order[e["source"]]))
    for entry in entries:
        entry["at"] = entry["at"].isoformat()
    return entries
