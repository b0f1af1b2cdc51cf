"""The escalation app's part of `load_demo`: on-call rotations for the demo staff, and no e-mail storm
from the months of history the demo replays."""

from datetime import time, timedelta

from django.utils import timezone

from incidents.choices import Tier

from .choices import DeliveryStatus, RotationKind
from .models import Notification, Rotation, RotationMember
from .services import sweep

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


def settle_demo_history(*, history_before) -> None:
    """After the replay: fire what is overdue now, then keep every message of it on record, unsent (they
    would reach nobody in time, and a demo must not flood the console on its first start)."""
    if history_before is None:
        return
    sweep()
    Notification.objects.filter(status=DeliveryStatus.PENDING, created_at__lte=timezone.now()).update(
        status=DeliveryStatus.SKIPPED, last_error="replayed demo history"
    )
