"""Who acts next, in words for the incident page's header (`selectors.next_steps` gives the facts)."""

from __future__ import annotations

from ..choices import Role
from ..selectors import NextStep

# How the header names one member of a role: "Waiting for an Incident Manager to close it".
ROLE_PHRASES = {
    Role.SERVICE_DESK: "the Service Desk",
    Role.SYSADMINS: "a System Administrator",
    Role.EXPERTS: "a Subject Matter Expert",
    Role.EXTERNAL: "External Support",
    Role.INCIDENT_MANAGERS: "an Incident Manager",
    Role.MANAGEMENT: "Management",
    Role.SECURITY_TEAM: "the Security Team",
}
# What taking each transition does, after "to".
DOING = {
    "classify": "classify it",
    "investigate": "take it into investigation",
    "hold": "put it on hold",
    "resume": "resume work on it",
    "resolve": "resolve it",
    "close": "close it",
    "reopen": "reopen it",
    "cancel": "cancel it",
}
# When the person affected (the caller) takes a transition, it means something of its own.
REPORTER_DOING = {"close": "confirm the fix", "reopen": "say the fix did not hold"}


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _doing(step: NextStep) -> str:
    if step.transition == "classify" and step.label != "Classify":
        return step.label.lower() + " it"  # "Reclassify"
    return DOING.get(step.transition, step.label.lower())


def waiting_for(steps: list[NextStep], *, state_label: str) -> str:
    """The header's sentence: "Waiting for an Incident Manager to close it, or the caller (Ana Ruiz) to
    confirm the fix; or the Service Desk or an Incident Manager to reopen it." With nothing open:
    "Closed: nothing is waiting." """
    parts = []
    for step in steps:
        who = [ROLE_PHRASES.get(role, role) for role in step.roles]
        if step.assignee is not None:
            who.insert(0, f"the assignee ({_name(step.assignee)})")
        part = f"{_either(who)} to {_doing(step)}" if who else ""
        if step.reporter is not None:
            doing = REPORTER_DOING.get(step.transition, _doing(step))
            reporter = f"the caller ({_name(step.reporter)}) to {doing}"
            part = f"{part}, or {reporter}" if part else reporter
        if part:
            parts.append(part)
    if not parts:
        return f"{state_label}: nothing is waiting."
    return "Waiting for " + "; or ".join(parts) + "."
