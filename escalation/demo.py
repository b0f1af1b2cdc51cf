"""The escalation app's part of `load_demo`: on-call rotations for the demo staff, and no e-mail storm
from the months of history the demo replays."""

from datetime import datetime, time, timedelta

import time_machine
from django.utils import timezone

from incidents.choices import OPEN_STATES, Tier

from .choices import DeliveryStatus, RotationKind
from .models import IncidentEscalation, Notification, Rotation, RotationMember
from .services import fire_due, send_incident_digests
from .services.message_rules import reminder_interval
from .services.moments import due_reminders_q

HISTORY_DAYS = 400  # the demo replays about six months; the rota starts before that

# rotation kind: (name, demo usernames in shift order, shift length)
ROTATIONS = {
    Tier.TIER1: ("Service Desk on call", ["desk", "lena"], timedelta(days=1)),
    Tier.TIER2: ("System Administrators on call", ["sysadmin", "tomas", "ines"], timedelta(days=7)),
    Tier.TIER3: ("Subject Matter Experts on call", ["expert", "marta", "karl"], timedelta(days=7)),
    Tier.EXTERNAL: ("Vendor hotline", ["vendor", "rfsupport"], timedelta(days=7)),
    RotationKind.INCIDENT_MANAGER: ("Incident Manager on duty", ["manager", "yuki"], timedelta(days=7)),
    RotationKind.SECURITY: ("Security Team on call", ["security", "ravi"], timedelta(days=7)),
}


def demo_rotations(*, users: dict) -> None:
    """A rota for every tier, the Incident Managers and the Security Team, starting well before the replayed
    history."""
    start = timezone.localdate() - timedelta(days=HISTORY_DAYS)
    for kind, (name, usernames, shift) in ROTATIONS.items():
        rotation, created = Rotation.objects.get_or_create(
            kind=kind,
            defaults={
                "name": name,
                "shift_length": shift,
                "handoff_time": time(9),
                "time_zone": "Europe/Berlin",
                "start_date": start,
            },
        )
        if created:
            RotationMember.objects.bulk_create(
                RotationMember(rotation=rotation, user=users[u], order=i)
                for i, u in enumerate(usernames)
                if u in users
            )


def fire_due_on_time(*, until: datetime, incident_id: int | None = None) -> None:
    """Fire every escalation step due by `until` (of one incident, or of all), each at the moment it fell
    due and in due order, as a running engine would have while the replayed history happened."""
    due_rows = IncidentEscalation.objects.filter(next_escalation_at__lte=until)
    if incident_id is not None:
        due_rows = due_rows.filter(incident_id=incident_id)
    stuck: set[int] = set()  # an incident whose due step did not fire is left to the sweep, as in production
    while True:
        due = (
            due_rows.exclude(incident_id__in=stuck)
            .order_by("next_escalation_at", "incident_id")
            .values_list("incident_id", "next_escalation_at")
            .first()
        )
        if due is None:
            return
        incident, moment = due
        with time_machine.travel(moment, tick=False):
            if not fire_due(incident_id=incident, now=moment):
                stuck.add(incident)


def settle_demo_history(*, history_before) -> None:
    """After the replay, leave nothing overdue for the first sweep: a first start that fired every open
    incident's overdue escalations in one burst would look like a broken engine.

    - Each escalation step still due is fired at the moment it fell due (`fire_due_on_time`); the
      incident's timeline then reads as in real life, not as a heap of escalations at the moment the demo
      was loaded.
    - An open incident's status-update reminders (every interval of its severity's rule) count as sent
      (they are not recorded one by one): the next one falls due as if they had been.
    - What waited for the hourly digest goes into one last digest.
    - Every message of the history stays on record, unsent: it would reach nobody in time, and a demo must
      not flood the mail log on its first start.
    """
    if history_before is None:
        return
    end = timezone.now()
    fire_due_on_time(until=end)
    for record in IncidentEscalation.objects.filter(due_reminders_q(end)).select_related("incident"):
        interval = reminder_interval(record.incident)
        if interval is None or record.incident.state not in OPEN_STATES:
            continue
        missed = (end - record.last_reminder_at) // interval
        record.last_reminder_at += missed * interval
        record.save(update_fields=["last_reminder_at"])
    send_incident_digests(now=end)
    Notification.objects.filter(status=DeliveryStatus.PENDING, created_at__lte=end).update(
        status=DeliveryStatus.SKIPPED, last_error="replayed demo history"
    )
