"""What the intake does to incidents, always through the incident services and as the source's system
account: raise one (logged and classified from the source's mapping), reopen one, resolve one on recovery."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from .. import limits, selectors, services
from ..alert_formats import ReceivedAlert
from ..choices import EventKind, Level, ResolutionCode, Source, State, category_of
from ..exceptions import Conflict, PermissionDenied, RequiredStepsOpen, ValidationError
from ..formatting import exact_duration
from ..models import AlertSource, Incident, Service

logger = logging.getLogger(__name__)

LEVEL_RANK = {Level.LOW: 0, Level.MEDIUM: 1, Level.HIGH: 2}


@dataclass(frozen=True)
class Classification:
    """How a group's new incident is classified: from its most severe alert, through the source's mapping."""

    service: Service | None
    urgency: str
    impact: str
    note: str


def classification_for(source: AlertSource, alerts: list[ReceivedAlert]) -> Classification:
    """The most severe alert decides (a group of a warning and a critical alert is an S1)."""
    lead = max(
        alerts, key=lambda alert: sum(LEVEL_RANK.get(level, 0) for level in _levels_for(source, alert)[:2])
    )
    service, service_note = _service_for(source, lead)
    urgency, impact, levels_note = _levels_for(source, lead)
    return Classification(
        service, urgency, impact, f"From monitoring ({source.name}): {levels_note}.{service_note}"
    )


def raise_incident(
    *,
    source: AlertSource,
    account,
    alerts: list[ReceivedAlert],
    plan: Classification,
    now: datetime,
    recurrence_of: Incident | None,
) -> Incident:
    """Log a new incident for the firing `alerts` of one group, titled after the first. Runs in the caller's
    transaction, which also claims the group's key; `classify_raised` follows once its alerts are recorded
    (what classification sends, such as a major incident's page, links to them)."""
    first = alerts[0]
    title = first.title
    if len(alerts) > 1:
        title = _clip(f"{first.title} (and {len(alerts) - 1} more alerts)", 200)
    incident = services.incident_create(
        user=account,
        title=title,
        description=_description(first),
        service=plan.service,
        # The type classification keeps: the source's, when it is one of the source's category.
        incident_type=source.default_incident_type
        if category_of(source.default_incident_type) == source.default_category
        else "",
        source=Source.MONITORING,
        detected_at=_detected_at(min(alerts, key=_start_or_now(now)), now, plan.service),
        # Classified in this transaction: logging already knows what it announces.
        category=source.default_category,
        urgency=plan.urgency,
        impact=plan.impact,
    )
    if recurrence_of is not None:
        # Everyone who reads this incident reads its timeline: a security incident is not named there (those
        # who may see it find it through the alert's `recurrence_of`).
        named = not selectors.is_security_incident(recurrence_of)
        earlier = recurrence_of.number if named else "an earlier security incident"
        services.timeline_record(
            incident=incident,
            kind=EventKind.MONITORING,
            user=account,
            note=f"Recurrence of {earlier}: its alerts fire again after it was "
            f"{recurrence_of.get_state_display().lower()}.",
            data={"source": source.slug, **({"recurrence_of": recurrence_of.number} if named else {})},
        )
    return incident


def classify_raised(*, source: AlertSource, account, incident: Incident, plan: Classification) -> Incident:
    return services.incident_classify(
        incident=incident,
        user=account,
        category=source.default_category,
        urgency=plan.urgency,
        impact=plan.impact,
        note=plan.note,
    )


def reopen(*, source: AlertSource, account, incident: Incident, reason: str) -> Incident:
    """Reopen through the reopen service: counted for the reopen-rate KPI like any other reopen."""
    return services.incident_reopen(incident=incident, user=account, reason=reason)


def refire_reason(source: AlertSource, alert: ReceivedAlert, incident: Incident, now: datetime) -> str:
    after = exact_duration(max(timedelta(0), now - incident.resolved_at))
    return (
        f"Monitoring ({source.name}): {alert.title} fires again {after} after the resolution, within the "
        f"source's reopen window of {exact_duration(source.reopen_window)}."
    )


def auto_resolve(source: AlertSource, account, incident: Incident) -> bool:
    """Resolve with code `fixed`. Resolution starts from investigating, so a classified incident is taken
    into investigation first (by its assignee if it has one, else the source's account). Neither step is a
    first response (the account is a system account): an incident resolved before any person answered it
    is self-healed, which the KPIs count on their own line. Logged and on-hold incidents stay for a human.
    Both steps or neither; a human acting at the same moment wins."""
    notes = f"Resolved automatically: monitoring ({source.name}) reports recovery."
    try:
        with transaction.atomic():
            if incident.state == State.CLASSIFIED:
                incident = services.incident_investigate(
                    incident=incident,
                    user=account,
                    assignee=incident.assignee or account,
                    note="Monitoring reports recovery; resolving automatically.",
                )
            if incident.state != State.INVESTIGATING:
                return False
            services.incident_resolve(incident=incident, user=account, code=ResolutionCode.FIXED, notes=notes)
    except (RequiredStepsOpen, ValidationError) as exc:
        # What only a person can do (required runbook steps, such as preserving evidence): the timeline
        # says why the recovery did not resolve it.
        reason = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        services.timeline_record(
            incident=incident,
            kind=EventKind.MONITORING,
            user=account,
            note=f"Not resolved automatically: {reason}",
            data={"source": source.slug, "auto_resolve": "left for a person"},
        )
        return False
    except (Conflict, PermissionDenied) as exc:
        logger.info("Auto-resolve of %s left for a human: %s", incident.number, exc)
        return False
    return True


# --- classification from the source's mapping -------------------------------------------------------------


def _service_for(source: AlertSource, alert: ReceivedAlert) -> tuple[Service | None, str]:
    """The active service the alert names (its `service`, else the source's service label), else the
    source's default service; with a note when the named one was not usable."""
    slug = alert.service or alert.labels.get(source.service_label, "")
    if slug:
        service = Service.objects.filter(slug=slug, is_active=True).first()
        if service is not None:
            return service, ""
    default = source.default_service
    if default is not None and not default.is_active:
        default = None
    if not slug:
        return default, ""
    fallback = f"the default service {default.slug}" if default else "no service"
    return default, f" The alert names service '{slug}', which is unknown or retired: {fallback} instead."


def _levels_for(source: AlertSource, alert: ReceivedAlert) -> tuple[str, str, str]:
    """(urgency, impact, explanation): as posted, else the severity map, else the source's defaults."""
    if alert.urgency and alert.impact:
        return alert.urgency, alert.impact, f"urgency {alert.urgency} and impact {alert.impact} as posted"
    severity = alert.severity or alert.labels.get(source.severity_label, "")
    levels = source.levels_for(severity)
    if levels is not None and all(level in Level.values for level in levels):
        return levels[0], levels[1], f"severity '{severity}' maps to urgency {levels[0]}, impact {levels[1]}"
    reason = f"severity '{severity}' is not in the severity map" if severity else "no severity given"
    return source.default_urgency, source.default_impact, f"{reason}; the source's defaults apply"


def _start_or_now(now: datetime):
    return lambda alert: alert.starts_at or now


def _detected_at(alert: ReceivedAlert, now: datetime, service: Service | None) -> datetime:
    """The alert's start, within what `incident_create` allows: clocks of other machines run a little ahead
    at times (detection is never after logging), and an alert that started longer ago than
    `DETECTED_AT_MAX_AGE` (monitoring restarted, a silence lifted) counts from just inside that bound
    (an hour, as the incident is logged a little after `now`), or from when its service went into operation
    (monitoring set up before the go-live)."""
    if alert.starts_at is None:
        return now
    earliest = limits.earliest_detection(now) + timedelta(hours=1)
    if service is not None:
        earliest = max(earliest, limits.day_start(service.in_service_since))
    return max(min(alert.starts_at, now), earliest)


def _description(alert: ReceivedAlert) -> str:
    parts = [alert.description.strip()] if alert.description.strip() else []
    if alert.labels:
        parts.append("Labels: " + ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())))
    return limits.clip_text("\n\n".join(parts))


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
