"""Known incident histories at fixed timestamps, driven through the real incident services (each step inside
`time_machine.travel(moment, tick=False)`), so every timestamp the reports read is exactly the one given."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from incidents import services
from tests.factories import INVESTIGATION

SEVERITY_INPUTS = {
    "S1": ("high", "high"),
    "S2": ("high", "medium"),
    "S3": ("medium", "medium"),
    "S4": ("low", "low"),
}


def t(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def story(
    user,
    *,
    created: datetime,
    severity: str | None,
    service=None,
    detected: datetime | None = None,
    category: str = "infrastructure",
    incident_type: str = "",
    steps: tuple = (),
    title: str = "Incident",
):
    """Log at `created` (detected at `detected`), classify at once with the urgency x impact that gives
    `severity` (None: leave it logged), then take each (transition, moment) of `steps` (resolving with the
    investigation on record and the required runbook steps done)."""
    with at(created):
        incident = services.incident_create(
            user=user,
            title=title,
            service=service,
            incident_type=incident_type,
            detected_at=detected or created,
        )
    if severity:
        urgency, impact = SEVERITY_INPUTS[severity]
        with at(created):
            incident = services.incident_classify(
                incident=incident, user=user, category=category, urgency=urgency, impact=impact
            )
    inputs = {
        "investigate": {},
        "hold": {"reason": "awaiting_vendor", "note": "RMA opened"},
        "resume": {"note": "part arrived"},
        "resolve": {"code": "fixed", "notes": "Replaced the failed part", **INVESTIGATION},
        "reopen": {"reason": "came back"},
        "close": {"closure_notes": "Fix verified"},
        "cancel": {"reason": "duplicate"},
    }
    for name, moment in steps:
        with at(moment):
            if name == "resolve":  # required runbook steps are done first
                for item in incident.checklist.filter(required=True, done_at=None, skipped_at=None):
                    services.checklist_item_done(item=item, user=user)
            incident = services.TRANSITION_SERVICES[name](incident=incident, user=user, **inputs[name])
    return incident
