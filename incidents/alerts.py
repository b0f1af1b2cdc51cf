"""Detection via monitoring (seed 2.1 "Detection: via monitoring or reporting"): alerts posted by an
`AlertSource` become classified incidents, without flooding the service desk.

- Deduplication: while an incident raised by an alert is open (not resolved, closed or cancelled), every
  firing report of the same source + fingerprint is counted on it (one UPDATE, no history row) instead of
  raising a new incident. `IncidentAlert`'s partial unique index keeps it so under concurrent deliveries.
- A new alert is logged (`source=monitoring`, `detected_at=startsAt`) and classified at once from the
  source's mapping, so its SLA clocks and escalations start. The source's system account is the actor.
- A resolved alert records "monitoring reports recovery" on the timeline; sources set to auto-resolve
  also resolve the incident (code fixed), taking a classified one into investigation first. An incident
  on hold stays for a human: someone parked it deliberately and owns the follow-up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from . import limits, services
from .alert_formats import MAX_PAYLOAD_BYTES, ReceivedAlert, parse_payload
from .choices import (
    AlertAction,
    AlertStatus,
    EventKind,
    Level,
    PayloadStatus,
    ResolutionCode,
    Source,
    State,
    category_of,
)
from .exceptions import Conflict, PayloadTooLarge, PermissionDenied, RequiredStepsOpen, ValidationError
from .models import AlertPayload, AlertSource, Incident, IncidentAlert, Service
from .models.alerts import hash_token

logger = logging.getLogger(__name__)
User = get_user_model()

PAYLOAD_RETENTION = timedelta(days=30)  # the issue: raw payloads "stored ... for 30 days for debugging"

# What a source's system account may do: raise (any signed-in user may log), classify, and resolve on
# recovery. Granted directly, not through the Service Desk group, so the account is never a tier member
# that escalations notify, rotas list or the admin offers as an assignee.
ACCOUNT_PERMISSIONS = ("classify_incident", "investigate_incident", "resolve_incident")

# A delivery racing another one for the same new fingerprint loses at the unique index and absorbs into
# the winner's incident; more rounds than this mean something else is wrong.
CREATE_ATTEMPTS = 3


@dataclass(frozen=True)
class AlertOutcome:
    fingerprint: str
    status: str
    action: str  # AlertAction
    incident: str | None  # the incident's number
    count: int = 1


@dataclass(frozen=True)
class AlertIntakeResult:
    payload_id: int
    outcomes: list[AlertOutcome] = field(default_factory=list)

    @property
    def alerts(self) -> int:
        return sum(outcome.count for outcome in self.outcomes)

    @property
    def incidents(self) -> list[str]:
        return list(dict.fromkeys(o.incident for o in self.outcomes if o.incident))


# --- intake ----------------------------------------------------------------------------------------------


def alert_receive(
    *,
    source: AlertSource,
    payload_bytes: bytes,
    declared_size: int | None = None,
    remote_addr: str | None = None,
) -> AlertIntakeResult:
    """Take one delivery from `source` in its kind's format.

    A body over 1 MiB (as received or as announced by Content-Length) raises PayloadTooLarge; a malformed
    one raises ValidationError naming what is wrong. Both are recorded as rejected payloads (an oversized
    body without its content). Alerts of one delivery are grouped by fingerprint and status, so a storm
    of identical alerts costs one UPDATE; each group commits on its own, so a long delivery holds no
    lock across groups.
    """
    size = max(len(payload_bytes), declared_size or 0)
    if size > MAX_PAYLOAD_BYTES:
        message = f"The body has {size} bytes; at most {MAX_PAYLOAD_BYTES} (1 MiB) are accepted."
        _record(source, PayloadStatus.REJECTED, body=b"", size=size, remote_addr=remote_addr, error=message)
        raise PayloadTooLarge(message)
    try:
        received = parse_payload(source.kind, payload_bytes)
    except ValidationError as exc:
        _record(
            source,
            PayloadStatus.REJECTED,
            body=payload_bytes,
            size=size,
            remote_addr=remote_addr,
            error=_error_text(exc),
        )
        raise
    payload = _record(source, PayloadStatus.ACCEPTED, body=payload_bytes, size=size, remote_addr=remote_addr)
    try:
        account = alert_source_account(source=source)
        now = timezone.now()
        outcomes = [
            _fire(source, account, alert, count, now)
            if alert.status == AlertStatus.FIRING
            else _recover(source, account, alert, count, now)
            for alert, count in _grouped(received)
        ]
    except Exception as exc:
        # Kept for debugging like any other payload; the error itself propagates (a 500 is a bug).
        AlertPayload.objects.filter(pk=payload.pk).update(
            status=PayloadStatus.REJECTED, error=f"Processing failed: {type(exc).__name__}: {exc}"
        )
        raise
    numbers = {o.incident for o in outcomes if o.incident}
    if numbers:
        payload.incidents.add(*Incident.objects.filter(number__in=numbers).values_list("pk", flat=True))
    return AlertIntakeResult(payload_id=payload.pk, outcomes=outcomes)


def _record(source, status, *, body: bytes, size: int, remote_addr, error: str = "") -> AlertPayload:
    return AlertPayload.objects.create(
        source=source,
        status=status,
        # Decoded leniently: a body that is not UTF-8 is kept (marked) for whoever debugs the sender.
        body=body.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
        size=size,
        remote_addr=remote_addr or None,
        error=error,
    )


def _error_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "\n".join(f"{path}: {' '.join(messages)}" for path, messages in exc.message_dict.items())
    return " ".join(exc.messages)


def _grouped(alerts: list[ReceivedAlert]) -> list[tuple[ReceivedAlert, int]]:
    """Identical reports (same fingerprint and status) once each, with how many there were, in order."""
    groups: dict[tuple[str, str], list] = {}
    for alert in alerts:
        key = (alert.fingerprint, alert.status)
        if key in groups:
            groups[key][1] += 1
        else:
            groups[key] = [alert, 1]
    return [(alert, count) for alert, count in groups.values()]


# --- firing: absorb or raise -----------------------------------------------------------------------------


def _fire(source, account, alert: ReceivedAlert, count: int, now: datetime) -> AlertOutcome:
    error = None
    for _ in range(CREATE_ATTEMPTS):
        outcome = _absorb(source, account, alert, count, now)
        if outcome is not None:
            return outcome
        try:
            return _raise_incident(source, account, alert, count, now)
        except IntegrityError as exc:  # a concurrent delivery raised it first: absorb into that one
            error = exc
    raise error


def _absorb(source, account, alert: ReceivedAlert, count: int, now: datetime) -> AlertOutcome | None:
    """Count the reports on the open incident of this source + fingerprint, if there is one."""
    row = (
        IncidentAlert.objects.filter(source=source, fingerprint=alert.fingerprint, is_open=True)
        .values_list("pk", "status", "incident_id", "incident__number")
        .first()
    )
    if row is None:
        return None
    pk, status, incident_id, number = row
    updated = IncidentAlert.objects.filter(pk=pk, is_open=True).update(
        occurrences=F("occurrences") + count, last_seen_at=now, status=AlertStatus.FIRING
    )
    if not updated:  # resolved or cancelled in between: the alert raises a new incident
        return None
    if status == AlertStatus.RESOLVED:
        services.timeline_record(
            incident=Incident.objects.get(pk=incident_id),
            kind=EventKind.MONITORING,
            user=account,
            note=f"Monitoring ({source.name}) reports the alert firing again.",
            data={"source": source.slug, "fingerprint": alert.fingerprint, "status": AlertStatus.FIRING},
        )
    return AlertOutcome(alert.fingerprint, alert.status, AlertAction.ABSORBED, number, count)


def _raise_incident(source, account, alert: ReceivedAlert, count: int, now: datetime) -> AlertOutcome:
    """Log and classify a new incident for the alert. Inserting its `IncidentAlert` is what claims the
    fingerprint: a concurrent claim fails there (IntegrityError) and the whole incident is rolled back."""
    service, service_note = _service_for(source, alert)
    urgency, impact, levels_note = _levels_for(source, alert)
    with transaction.atomic():
        incident = services.incident_create(
            user=account,
            title=alert.title,
            description=_description(alert),
            service=service,
            # The type classification keeps: the source's, when it is one of the source's category.
            incident_type=source.default_incident_type
            if category_of(source.default_incident_type) == source.default_category
            else "",
            source=Source.MONITORING,
            detected_at=_detected_at(alert, now, service),
            # Classified below in this transaction: logging already knows what it announces.
            category=source.default_category,
            urgency=urgency,
            impact=impact,
        )
        IncidentAlert.objects.create(
            incident=incident,
            source=source,
            fingerprint=alert.fingerprint,
            occurrences=count,
            first_seen_at=now,
            last_seen_at=now,
            labels=alert.labels,
            annotations=alert.annotations,
            generator_url=alert.generator_url,
        )
        incident = services.incident_classify(
            incident=incident,
            user=account,
            category=source.default_category,
            urgency=urgency,
            impact=impact,
            note=f"From monitoring ({source.name}): {levels_note}.{service_note}",
        )
    return AlertOutcome(alert.fingerprint, alert.status, AlertAction.CREATED, incident.number, count)


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


# --- resolved: recovery ----------------------------------------------------------------------------------


def _recover(source, account, alert: ReceivedAlert, count: int, now: datetime) -> AlertOutcome:
    """Record the recovery on the open incident of this alert (once per recovery: Alertmanager repeats
    resolved alerts in later group notifications), then resolve it if the source says so."""
    row = (
        IncidentAlert.objects.filter(source=source, fingerprint=alert.fingerprint, is_open=True)
        .values_list("pk", "incident_id")
        .first()
    )
    if row is None:
        return AlertOutcome(alert.fingerprint, alert.status, AlertAction.IGNORED, None, count)
    with transaction.atomic():
        # The incident's row first, then the alert's: the order a transition takes them in.
        incident = Incident.objects.select_for_update().get(pk=row[1])
        record = IncidentAlert.objects.select_for_update().get(pk=row[0])
        if not record.is_open or record.status == AlertStatus.RESOLVED:
            return AlertOutcome(alert.fingerprint, alert.status, AlertAction.IGNORED, incident.number, count)
        record.status, record.recovered_at = AlertStatus.RESOLVED, now
        record.save(update_fields=["status", "recovered_at"])
        ended = f" (ended {alert.ends_at:%Y-%m-%d %H:%M:%S} UTC)" if alert.ends_at else ""
        services.timeline_record(
            incident=incident,
            kind=EventKind.MONITORING,
            user=account,
            note=f"Monitoring reports recovery{ended}.",
            data={
                "source": source.slug,
                "fingerprint": alert.fingerprint,
                "status": AlertStatus.RESOLVED,
                "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
            },
        )
    if source.auto_resolve and _auto_resolve(source, account, incident):
        return AlertOutcome(alert.fingerprint, alert.status, AlertAction.RESOLVED, incident.number, count)
    return AlertOutcome(alert.fingerprint, alert.status, AlertAction.RECOVERED, incident.number, count)


def _auto_resolve(source, account, incident: Incident) -> bool:
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


# --- the source's account and token ----------------------------------------------------------------------


def alert_source_account(*, source: AlertSource):
    """The source's system account, created on first use: active (permission checks need it), without a
    usable password or API token (so nobody can sign in as it), not staff, in no role group, holding
    `ACCOUNT_PERMISSIONS` directly. It reports, classifies and resolves what the source raises, so the
    incident's history and timeline name the integration that acted."""
    if source.account_id is not None:
        return source.account
    with transaction.atomic():
        locked = AlertSource.objects.select_for_update().get(pk=source.pk)
        if locked.account_id is None:
            locked.account = _new_account(locked)
            locked._change_reason = "system account created"
            locked.save(update_fields=["account"])
    source.account = locked.account
    return source.account


def _new_account(source: AlertSource):
    base = f"monitoring-{source.slug}"
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    account = User(username=username, first_name="Monitoring", last_name=source.name[:150], is_staff=False)
    account.set_unusable_password()
    account.save()
    account.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="incidents", codename__in=ACCOUNT_PERMISSIONS)
    )
    return account


@transaction.atomic
def alert_source_issue_token(*, source: AlertSource, user) -> str:
    """Give the source a new token; the old one stops working at once. Returns the token, which is not
    stored (only its hash is): the caller shows it once."""
    if not user.has_perm("incidents.change_alertsource"):
        raise PermissionDenied("You may not change alert sources.")
    locked = AlertSource.objects.select_for_update().get(pk=source.pk)
    token = locked.issue_token()
    locked._history_user = user
    locked._change_reason = "new token issued"
    locked.save()
    return token


def alert_source_authenticate(token: str) -> AlertSource | None:
    """The active source holding `token`, or None (unknown and revoked look the same to the caller)."""
    if not token:
        return None
    source = (
        AlertSource.objects.select_related("account", "default_service")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if source is None or not source.token_matches(token) or not source.is_active:
        return None
    return source


# --- retention -------------------------------------------------------------------------------------------


def alert_payloads_purge(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete raw payloads received more than 30 days ago, in batches (a storm leaves many). Returns how
    many were deleted. Run daily by celery beat (`incidents.tasks.purge_alert_payloads`)."""
    cutoff = (now or timezone.now()) - PAYLOAD_RETENTION
    deleted = 0
    while True:
        ids = list(
            AlertPayload.objects.filter(received_at__lt=cutoff).values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        AlertPayload.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
