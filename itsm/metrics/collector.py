"""The application's gauges, computed from the database when Prometheus scrapes (a handful of aggregate
queries, whatever the number of incidents), so every web process and every host reports the same values.

Labels take a bounded set of values (severities, states, clocks, channels): never an incident's number.
Every combination is reported, zero included, so a series does not vanish while all is well."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from importlib import metadata

from django.db import DatabaseError
from django.utils import timezone
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from escalation import selectors as escalation_selectors
from escalation import services as escalation_services
from escalation.choices import Channel, DeliveryStatus
from incidents import selectors as incident_selectors
from incidents.choices import OPEN_STATES, Clock, Severity

# Escalation lateness (due -> fired) over this window, counted into these buckets (seconds).
LATENESS_WINDOW = timedelta(hours=1)
LATENESS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
# The sweep runs every minute: a step due longer ago than this and still not fired is overdue.
OVERDUE_AFTER = timedelta(minutes=1)
NO_SEVERITY = "none"  # the label of an incident without a severity (an imported record)


def _version() -> str:
    try:
        return metadata.version("itsm")
    except metadata.PackageNotFoundError:
        return "unknown"


class ApplicationCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        try:
            families = list(self._families(now))  # every query first: a failure leaves no half-written page
        except DatabaseError:
            families = []
        yield GaugeMetricFamily(
            "itsm_database_up",
            "1 when the application's gauges could be read from the database, else 0 (and they are missing).",
            value=1 if families else 0,
        )
        info = GaugeMetricFamily("itsm_build_info", "The running version of itsm.", labels=["version"])
        info.add_metric([_version()], 1)
        yield info
        yield from families

    def _families(self, now: datetime) -> Iterator[Metric]:
        yield from _incidents(now)
        yield from _outbox(now)
        yield from _escalations(now)


def _incidents(now: datetime) -> Iterator[Metric]:
    severities = [*Severity.values]
    open_counts = {(severity, str(state)): 0 for severity in severities for state in OPEN_STATES}
    breached = {(str(clock), severity): 0 for clock in Clock.values for severity in severities}
    for row in incident_selectors.open_incident_counts(now=now):
        severity = row.severity or NO_SEVERITY
        open_counts[severity, row.state] = open_counts.get((severity, row.state), 0) + row.open
        for clock, count in (
            (Clock.RESPONSE, row.response_breached),
            (Clock.RESOLUTION, row.resolution_breached),
        ):
            breached[str(clock), severity] = breached.get((str(clock), severity), 0) + count
    incidents = GaugeMetricFamily(
        "itsm_incidents_open",
        "Open incidents (logged, classified, investigating, on hold) by severity and state; a provisional "
        "severity counts as its severity.",
        labels=["severity", "state"],
    )
    for labels, count in open_counts.items():
        incidents.add_metric(list(labels), count)
    yield incidents
    sla = GaugeMetricFamily(
        "itsm_sla_breached",
        "Open incidents whose response or resolution target is breached now (missed, or running past due).",
        labels=["clock", "severity"],
    )
    for labels, count in breached.items():
        sla.add_metric(list(labels), count)
    yield sla


def _outbox(now: datetime) -> Iterator[Metric]:
    counts = {
        (str(status), str(channel)): 0
        for status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
        for channel in Channel.values
    }
    oldest_pending = {str(channel): 0.0 for channel in Channel.values}
    for row in escalation_selectors.outbox_backlog():
        counts[row.status, row.channel] = row.count
        if row.status == DeliveryStatus.PENDING:
            oldest_pending[row.channel] = max(0.0, (now - row.oldest_created_at).total_seconds())
    backlog = GaugeMetricFamily(
        "itsm_notification_outbox",
        "Notifications not delivered: pending (waiting for a worker or a retry) and failed (given up).",
        labels=["status", "channel"],
    )
    for labels, count in counts.items():
        backlog.add_metric(list(labels), count)
    yield backlog
    age = GaugeMetricFamily(
        "itsm_notification_outbox_oldest_pending_age_seconds",
        "How long the oldest pending notification has waited (0 when none is pending).",
        labels=["channel"],
    )
    for channel, seconds in oldest_pending.items():
        age.add_metric([channel], seconds)
    yield age


def _escalations(now: datetime) -> Iterator[Metric]:
    lateness = escalation_selectors.escalation_lateness(since=now - LATENESS_WINDOW, bounds=LATENESS_BUCKETS)
    buckets = [(str(bound), count) for bound, count in lateness.at_most.items()]
    yield GaugeHistogramMetricFamily(
        "itsm_escalation_lateness_seconds",
        "How late escalations fired after their due time, over those fired in the last hour.",
        buckets=[*buckets, ("+Inf", lateness.count)],
        gsum_value=lateness.total_seconds,
    )
    yield GaugeMetricFamily(
        "itsm_escalation_lateness_max_seconds",
        "The longest delay from due to fired among escalations fired in the last hour (0 when none fired).",
        value=max(0.0, lateness.max_seconds or 0.0),
    )
    overdue = escalation_services.overdue(now=now, grace=OVERDUE_AFTER).count()
    yield GaugeMetricFamily(
        "itsm_escalations_overdue",
        "Incidents whose next escalation was due more than a minute ago and has not fired: the sweep is late.",
        value=overdue,
    )
    sweep = escalation_selectors.sweep_health(now=now)
    yield GaugeMetricFamily(
        "itsm_escalation_sweep_age_seconds",
        "Time since the escalation sweep last succeeded (+Inf when it never ran); it runs every minute.",
        value=sweep.age.total_seconds() if sweep.age is not None else float("inf"),
    )
