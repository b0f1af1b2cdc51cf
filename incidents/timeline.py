"""How a timeline entry reads on one line (e-mail highlights, the review's reconstructed timeline) and
how its note reads beside its kind (the admin's timeline), each word once: never "Logged: Logged: …".

Some notes are sentences the system wrote that already say what happened ("Assigned to ana", "Severity S3
→ S2", "Level 1 escalation: …", "Monitoring reports recovery."): those read on their own. The others are
what someone typed (a comment, a transition's note, a runbook step) and follow what happened: "Comment:
…", "Classified → Investigating: …". A note that starts with its own kind's label (the logging entry's
"Logged: <title>") loses that repetition.
"""

from __future__ import annotations

from .choices import EventKind, State

# Kinds whose note, when there is one, is a sentence naming what happened.
SELF_DESCRIBING = frozenset(
    {
        EventKind.SEVERITY,
        EventKind.ASSIGNMENT,
        EventKind.UPDATE,
        EventKind.ESCALATION,
        EventKind.MONITORING,
        EventKind.NOTIFICATION,
    }
)


def event_note(event) -> str:
    """The event's note without a leading repetition of its kind's label ("Logged: pve-07 down" under
    "Logged" reads "pve-07 down")."""
    note = (event.note or "").strip()
    prefix = f"{event.get_kind_display()}:"
    if note[: len(prefix)].lower() == prefix.lower():
        return note[len(prefix) :].strip()
    return note


def event_happened(event) -> str:
    """What happened, in a few words: the state change of a transition ("Resolved → Closed"; a
    reclassification stays in its state), else the kind's label."""
    if event.kind == EventKind.TRANSITION and event.to_state:
        to_state = State(event.to_state).label
        if event.from_state and event.from_state != event.to_state:
            return f"{State(event.from_state).label} → {to_state}"
        return "Reclassified" if event.transition == "classify" else to_state
    return event.get_kind_display()


def event_summary(event) -> str:
    """One line for the entry: "Logged: pve-07 down", "Classified → Investigating: checking the PSU",
    "Comment: …", or a self-describing note alone ("Severity S3 → S2")."""
    note = event_note(event)
    if note and event.kind in SELF_DESCRIBING:
        return note
    happened = event_happened(event)
    return f"{happened}: {note}" if note else happened
