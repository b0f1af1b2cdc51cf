"""Correlation (issue 13, "Alert correlation"): the alerts of one group make one incident.

An alert's group is its source + key: the Alertmanager `groupKey` of the notification (the source's
grouping "group", the default) or the alert's fingerprint ("fingerprint"; also for generic alerts and
notifications without a groupKey). Each group has one *current* incident (`IncidentAlert.is_current`, kept
unique by a partial index). A firing alert

- of a group without an incident raises one (logged and classified from the most severe alert);
- of a group whose incident is open joins it (a new alert: on its alert list and its timeline) or is
  counted on it (a repeat). Nobody is paged again: paging belongs to the incident, not to its alerts;
- of a group whose incident is resolved
  - fires again (it had recovered, or is new to the group): within the source's reopen window after the
    resolution this reopens the incident (the reopen service, so it counts as a reopen); later it raises
    a new incident, a recurrence linked to the resolved one;
  - still fires (a person resolved the incident while it fired; Alertmanager repeats it): the timeline
    says so once per resolution, and the incident is reopened only when the source says so;
- of a group whose incident is closed or cancelled raises a new incident, linked to it ("recurrence of").

A resolved alert records the recovery on its incident (open or resolved) once; when every alert of an
open incident has recovered and the source auto-resolves, the incident is resolved.

Set-based: a delivery costs a constant number of queries whatever its number of alerts (one locked read of
the groups, one of their alerts, one bulk insert, one bulk update), except for what happens to incidents
(raise, reopen, resolve), which goes through the incident services once per incident.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction

from .. import services
from ..alert_formats import ReceivedAlert
from ..choices import OPEN_STATES, AlertAction, AlertGrouping, AlertStatus, EventKind, State
from ..models import Alert, AlertSource, Incident, IncidentAlert
from ..models.alerts import key_hash
from . import actions

# A delivery racing another one for the same new group loses at the unique index and joins the winner's
# incident; more rounds than this mean something else is wrong.
CREATE_ATTEMPTS = 3
# How many alerts a timeline entry names; the rest are counted ("and 40 more").
NAMED_ALERTS = 10


@dataclass(frozen=True)
class AlertOutcome:
    fingerprint: str
    status: str
    action: str  # AlertAction
    incident: str | None  # the incident's number
    count: int = 1
    incident_id: int | None = field(default=None, compare=False, repr=False)


@dataclass
class Report:
    """The reports of one alert with one status in a delivery (identical reports are counted, not repeated)."""

    alert: ReceivedAlert
    count: int
    action: str = AlertAction.IGNORED


def reports_of(alerts: list[ReceivedAlert]) -> list[Report]:
    """Identical reports (same fingerprint and status) once each, with how many there were, in order."""
    reports: dict[tuple[str, str], Report] = {}
    for alert in alerts:
        key = (alert.fingerprint, alert.status)
        if key in reports:
            reports[key].count += 1
        else:
            reports[key] = Report(alert, 1)
    return list(reports.values())


def group_key(source: AlertSource, alert: ReceivedAlert) -> str:
    if source.grouping == AlertGrouping.GROUP and alert.group_key:
        return alert.group_key
    return alert.fingerprint


def correlate(
    *, source: AlertSource, account, alerts: list[ReceivedAlert], now: datetime
) -> list[AlertOutcome]:
    """Apply one delivery's alerts to their groups' incidents; one outcome per report, in order."""
    batches: dict[str, list[Report]] = defaultdict(list)
    reports = reports_of(alerts)
    for report in reports:
        batches[group_key(source, report.alert)].append(report)
    numbers: dict[str, tuple[str, int]] = {}  # group key → (incident number, id)

    # Groups whose incident is open: one transaction, set-based, however many groups and alerts.
    with transaction.atomic():
        current = _current_groups(source, list(batches), lock=True)
        joined = [(current[key], batches[key]) for key in batches if _is_open(current.get(key))]
        _merge(source, account, joined, now)
        for group, _ in joined:
            numbers[group.key] = (group.incident.number, group.incident_id)
    # The rest, one group at a time: each raises, reopens or links an incident.
    for key, batch in batches.items():
        if key not in numbers:
            numbers[key] = _settle(source, account, key, batch, now)
    return [
        AlertOutcome(
            r.alert.fingerprint,
            r.alert.status,
            r.action,
            numbers[group_key(source, r.alert)][0],
            r.count,
            numbers[group_key(source, r.alert)][1],
        )
        for r in reports
    ]


def _is_open(group: IncidentAlert | None) -> bool:
    return group is not None and group.incident.state in OPEN_STATES


def _current_groups(source: AlertSource, keys: list[str], *, lock: bool) -> dict[str, IncidentAlert]:
    groups = IncidentAlert.objects.select_related("incident").filter(
        source=source, is_current=True, key_hash__in=[key_hash(k) for k in keys]
    )
    if lock:  # the group's row, not its incident's: transitions lock the incident, and we call them
        groups = groups.select_for_update(of=("self",)).order_by("pk")
    return {group.key: group for group in groups}


# --- groups without an open incident ---------------------------------------------------------------------


def _settle(
    source: AlertSource, account, key: str, batch: list[Report], now: datetime
) -> tuple[str | None, int | None]:
    """One group whose incident is not open (or that has none): raise, reopen, link or note, in a
    transaction of its own. A concurrent delivery raising the same group first makes this one's insert fail
    at the unique index: it then starts over and joins that incident."""
    error = None
    for _ in range(CREATE_ATTEMPTS):
        try:
            with transaction.atomic():
                group = _current_groups(source, [key], lock=True).get(key)
                if group is not None:  # its state decides: nobody may move it until this one is done
                    group.incident = Incident.objects.select_for_update().get(pk=group.incident_id)
                return _settle_locked(source, account, key, group, batch, now)
        except IntegrityError as exc:
            error = exc
    raise error


def _settle_locked(
    source, account, key, group: IncidentAlert | None, batch, now
) -> tuple[str | None, int | None]:
    firing = [r for r in batch if r.alert.status == AlertStatus.FIRING]
    if group is None:
        if not firing:
            return None, None  # a recovery of nothing we know: ignored
        return _raise(source, account, key, batch, now, previous=None)
    incident = group.incident
    if incident.state in OPEN_STATES:  # opened meanwhile (a person reopened it, or a concurrent raise)
        _merge(source, account, [(group, batch)], now)
    elif incident.state == State.RESOLVED:
        return _on_resolved(source, account, key, group, batch, firing, now)
    elif firing:  # closed or cancelled: a recurrence
        return _raise(source, account, key, batch, now, previous=group)
    return incident.number, incident.pk


def _on_resolved(source, account, key, group: IncidentAlert, batch, firing, now) -> tuple[str, int]:
    incident = group.incident
    if not firing:
        _merge(source, account, [(group, batch)], now)  # recoveries are recorded on the resolved incident
        return incident.number, incident.pk
    members = _members([group], [r.alert.fingerprint for r in batch])
    refiring = [r for r in firing if _fires_again(members.get((group.pk, r.alert.fingerprint)))]
    if refiring:
        if now - incident.resolved_at <= source.reopen_window:
            group.incident = actions.reopen(
                source=source,
                account=account,
                incident=incident,
                reason=actions.refire_reason(source, refiring[0].alert, incident, now),
            )
            _merge(source, account, [(group, batch)], now, members=members)
            for report in refiring:
                report.action = AlertAction.REOPENED
            return incident.number, incident.pk
        return _raise(source, account, key, batch, now, previous=group)
    # Every firing alert still fires since the resolution: a person resolved it while they fired.
    if any(members[(group.pk, r.alert.fingerprint)].last_seen_at <= incident.resolved_at for r in firing):
        services.timeline_record(
            incident=incident,
            kind=EventKind.MONITORING,
            user=account,
            note=f"Monitoring ({source.name}) reports {_names([r.alert for r in firing])} still firing "
            "after the resolution."
            + (" Reopening, as the source says." if source.reopen_when_still_firing else ""),
            data={"source": source.slug, "still_firing": [r.alert.fingerprint for r in firing][:100]},
        )
    if source.reopen_when_still_firing:
        group.incident = actions.reopen(
            source=source,
            account=account,
            incident=incident,
            reason=f"Monitoring ({source.name}): {firing[0].alert.title} still fires after the resolution.",
        )
    _merge(source, account, [(group, batch)], now, members=members)
    for report in firing:
        report.action = AlertAction.REOPENED if source.reopen_when_still_firing else AlertAction.STILL_FIRING
    return incident.number, incident.pk


def _fires_again(member: Alert | None) -> bool:
    """New to the group, or firing after it recovered; not a repeat of an alert that never stopped."""
    return member is None or member.status == AlertStatus.RESOLVED


def _raise(source, account, key, batch, now, *, previous: IncidentAlert | None) -> tuple[str, int]:
    """A new incident for the group, current from now on; linked to `previous` (a recurrence) if given."""
    firing = [r.alert for r in batch if r.alert.status == AlertStatus.FIRING]
    if previous is not None:
        IncidentAlert.objects.filter(pk=previous.pk).update(is_current=False)
    plan = actions.classification_for(source, firing)
    with transaction.atomic():
        incident = actions.raise_incident(
            source=source,
            account=account,
            alerts=firing,
            plan=plan,
            now=now,
            recurrence_of=previous.incident if previous else None,
        )
        first = firing[0]
        group = IncidentAlert.objects.create(
            incident=incident,
            source=source,
            grouping=source.grouping if key != first.fingerprint else AlertGrouping.FINGERPRINT,
            key=key,
            fingerprint=first.fingerprint,
            recurrence_of=previous.incident if previous else None,
            occurrences=0,
            alert_count=0,
            first_seen_at=now,
            last_seen_at=now,
            labels=first.labels,
            annotations=first.annotations,
            generator_url=first.generator_url,
        )
        _merge(source, account, [(group, batch)], now, members={}, raising=True)
        actions.classify_raised(source=source, account=account, incident=incident, plan=plan)
    return incident.number, incident.pk


# --- the set-based core: alerts into their groups ----------------------------------------------------------


def _members(groups: list[IncidentAlert], fingerprints: list[str]) -> dict[tuple[int, str], Alert]:
    rows = Alert.objects.filter(group__in=[g.pk for g in groups], fingerprint__in=set(fingerprints))
    return {(m.group_id, m.fingerprint): m for m in rows}


def _merge(
    source: AlertSource,
    account,
    batches: list[tuple[IncidentAlert, list[Report]]],
    now: datetime,
    *,
    members: dict | None = None,
    raising: bool = False,
) -> None:
    """Record each report on its group's alert (new alerts inserted, known ones counted or recovered) and
    each group's summary, in bulk; then what the timeline should say, once per group; then auto-resolve
    the groups whose alerts have all recovered. `raising`: the alerts that raise the group's incident
    (the incident's creation says it all; they are not "joining")."""
    if not batches:
        return
    if members is None:
        members = _members([g for g, _ in batches], [r.alert.fingerprint for _, b in batches for r in b])
    created: list[Alert] = []
    changed: dict[int, Alert] = {}
    news: dict[int, _News] = {}
    for group, batch in batches:
        seen = news[group.pk] = _News()
        for report in batch:
            alert, count = report.alert, report.count
            member = members.get((group.pk, alert.fingerprint))
            if alert.status == AlertStatus.FIRING:
                seen.fired = True
                group.occurrences += count
                group.last_seen_at = now
                if member is None:
                    member = members[(group.pk, alert.fingerprint)] = _new_member(group, alert, count, now)
                    created.append(member)
                    group.alert_count += 1
                    report.action = AlertAction.CREATED if raising else AlertAction.JOINED
                    seen.joined.append(alert)
                    continue
                if member.status == AlertStatus.RESOLVED:
                    seen.refired.append(alert)
                member.status, member.last_seen_at = AlertStatus.FIRING, now
                member.occurrences += count
                report.action = AlertAction.ABSORBED
            else:
                if member is None or member.status == AlertStatus.RESOLVED:
                    report.action = AlertAction.IGNORED  # unknown, or its recovery was recorded already
                    continue
                member.status, member.recovered_at = AlertStatus.RESOLVED, now
                report.action = AlertAction.RECOVERED
                seen.recovered.append(alert)
            if member.pk is not None:
                changed[member.pk] = member
        if batch and batch[0].alert.group_truncated != group.truncated_alerts:
            seen.truncated = batch[0].alert.group_truncated
            group.truncated_alerts = seen.truncated
    Alert.objects.bulk_create(created)
    if changed:
        Alert.objects.bulk_update(
            list(changed.values()), ["status", "occurrences", "last_seen_at", "recovered_at"]
        )
    _summarise([g for g, _ in batches], news, now)
    for group, batch in batches:
        _tell(source, account, group, news[group.pk], raising=raising)
        resolves = news[group.pk].all_recovered and source.auto_resolve
        if (
            resolves
            and group.incident.state in OPEN_STATES
            and actions.auto_resolve(source, account, group.incident)
        ):
            for report in batch:
                if report.action == AlertAction.RECOVERED:
                    report.action = AlertAction.RESOLVED


@dataclass
class _News:
    """What a delivery changed in one group, for its timeline."""

    joined: list[ReceivedAlert] = field(default_factory=list)
    refired: list[ReceivedAlert] = field(default_factory=list)
    recovered: list[ReceivedAlert] = field(default_factory=list)
    fired: bool = False
    truncated: int | None = None
    all_recovered: bool = False


def _new_member(group: IncidentAlert, alert: ReceivedAlert, count: int, now: datetime) -> Alert:
    return Alert(
        group=group,
        fingerprint=alert.fingerprint,
        title=alert.title,
        occurrences=count,
        first_seen_at=now,
        last_seen_at=now,
        labels=alert.labels,
        annotations=alert.annotations,
        generator_url=alert.generator_url,
    )


def _summarise(groups: list[IncidentAlert], news: dict[int, _News], now: datetime) -> None:
    """Each group's summary: firing while any of its alerts fires. Only a recovery needs to look at the
    group's other alerts (one query for all groups)."""
    recovering = [g.pk for g in groups if news[g.pk].recovered]
    still_firing = set(
        Alert.objects.filter(group__in=recovering, status=AlertStatus.FIRING).values_list(
            "group_id", flat=True
        )
        if recovering
        else []
    )
    for group in groups:
        seen = news[group.pk]
        if seen.recovered:
            if group.pk in still_firing:
                group.status = AlertStatus.FIRING
            else:
                group.status, group.recovered_at = AlertStatus.RESOLVED, now
                seen.all_recovered = True
        elif seen.fired:
            group.status = AlertStatus.FIRING
    IncidentAlert.objects.bulk_update(
        groups,
        ["status", "occurrences", "alert_count", "last_seen_at", "recovered_at", "truncated_alerts"],
    )


def _tell(source: AlertSource, account, group: IncidentAlert, seen: _News, *, raising: bool) -> None:
    """The timeline entries of one delivery on one group: alerts that joined, fire again or recovered, and
    alerts Alertmanager left out (one entry each, naming the first few alerts)."""
    incident = group.incident
    data = {"source": source.slug}
    if seen.joined and not raising:
        services.timeline_record(
            incident=incident,
            kind=EventKind.MONITORING,
            user=account,
            note=f"Monitoring ({source.name}): {_names(seen.joined)} joined the incident's alerts.",
            data={**data, "joined": [a.fingerprint for a in seen.joined][:100], "status": AlertStatus.FIRING},
        )
    if seen.refired:
        subject = "the alert" if len(seen.refired) == 1 else _names(seen.refired)
        services.timeline_record(
            incident=incident,
            kind=EventKind.MONITORING,
            user=account,
            note=f"Monitoring ({source.name}) reports {subject} firing again.",
            data={**data, "fingerprint": seen.refired[0].fingerprint, "status": AlertStatus.FIRING},
        )
    if seen.recovered:
        alert = seen.recovered[0]
        if len(seen.recovered) == 1:
            ended = f" (ended {alert.ends_at:%Y-%m-%d %H:%M:%S} UTC)" if alert.ends_at else ""
            note = f"Monitoring reports recovery{ended}."
        else:
            note = f"Monitoring reports recovery of {_names(seen.recovered)}."
        if not seen.all_recovered:
            note += " Other alerts of the incident still fire."
        services.timeline_record(
            incident=incident,
            kind=EventKind.MONITORING,
            user=account,
            note=note,
            data={
                **data,
                "fingerprint": alert.fingerprint,
                "recovered": [a.fingerprint for a in seen.recovered][:100],
                "status": AlertStatus.RESOLVED,
                "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
            },
        )
    if seen.truncated:
        services.timeline_record(
            incident=incident,
            kind=EventKind.MONITORING,
            user=account,
            note=f"Alertmanager left {seen.truncated} alerts of this group out of its notification "
            "(max_alerts): those it never sent are not on this incident's list.",
            data={**data, "truncated_alerts": seen.truncated},
        )


def _names(alerts: list[ReceivedAlert]) -> str:
    named = ", ".join(a.title for a in alerts[:NAMED_ALERTS])
    more = f" and {len(alerts) - NAMED_ALERTS} more" if len(alerts) > NAMED_ALERTS else ""
    return f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''} ({named}{more})"
