"""Closure verified by the caller (seed 2.1 "Closure: verification ... Incident Manager, User").

Resolving asks the caller whether the fix works (escalation sends the Fix confirmation request with the
links of `incidents.caller_links`). The caller answers without signing in: *Confirm it's fixed* closes the
incident as the caller, *It's not fixed* reopens it with their words. Without an answer, the incident
closes itself `ProcessSettings.auto_close_after` after the resolution (`incidents_auto_close`, a beat task).
Staff close with closure notes instead (`lifecycle.incident_close`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import limits
from ..caller_links import Answer, check_answerable, read_token, token_payload
from ..choices import ClosedBy, EventKind, State, Visibility
from ..exceptions import Conflict
from ..formatting import human_duration
from ..models import Incident, ProcessSettings
from ..selectors import incident_caller
from .base import _event, _raise_if, _require, _transition

logger = logging.getLogger(__name__)

# The history's reason for an auto-close, which no user makes (its history row names nobody).
AUTO_CLOSE_REASON = "close: automatically, no answer from the caller"


def _caller_account(incident: Incident):
    """Who the history and the timeline name as acting: the caller's account, or nobody for a contact."""
    contact = incident_caller(incident)
    return contact.user if contact else None


def _caller_words(incident: Incident) -> str:
    contact = incident_caller(incident)
    if contact is None:
        return "the caller"
    return f"the caller ({contact.name or contact.email})"


def incident_caller_confirm(*, token: str) -> Incident:
    """*Confirm it's fixed*: close the incident as the caller (closed by the caller). The signed link
    stands in for a permission; it works once, for the resolution it was sent about, until the answer
    deadline (`caller_links.read_token`)."""
    incident = read_token(token, Answer.FIXED)
    payload = token_payload(token)

    def validate(locked):
        check_answerable(locked, payload)  # again under the row lock: a second click finds it closed
        return {"now": timezone.now()}

    return _transition(
        incident,
        user=_caller_account(incident),
        name="close",
        note=f"Fix confirmed by {_caller_words(incident)}.",
        validate=validate,
        authorised=True,
        closed_by=ClosedBy.CALLER,
        data={"closed_by": ClosedBy.CALLER, "answer": Answer.FIXED},
    )


def incident_caller_not_fixed(*, token: str, reason: str) -> Incident:
    """*It's not fixed*: reopen the incident with the caller's words on its timeline (counted for the
    reopen rate like any reopen). The link rules of `incident_caller_confirm`."""
    incident = read_token(token, Answer.NOT_FIXED)
    payload = token_payload(token)
    errors: dict = {}
    _require(errors, reason=reason)
    limits.check_text(errors, reason=reason)
    _raise_if(errors)

    def validate(locked):
        check_answerable(locked, payload)
        return {}

    words = reason.strip()
    caller = _caller_account(incident)
    with transaction.atomic():
        reopened = _transition(
            incident,
            user=caller,
            name="reopen",
            note="Not fixed, says the caller.",
            validate=validate,
            authorised=True,
            data={"answer": Answer.NOT_FIXED},
        )
        # Their words are for the support team (and themselves, as their own entry), not for the
        # stakeholders the public timeline reaches: they may name people or say more than a status should.
        _event(
            reopened,
            kind=EventKind.COMMENT,
            user=caller,
            note=f"The {_caller_words(incident).removeprefix('the ')} says it is not fixed: {words}",
            visibility=Visibility.INTERNAL,
        )
    return reopened


class _NotDue(Exception):
    """The incident was reopened and resolved again since it was found due: not this run's to close."""


def incident_auto_close(*, incident: Incident, now: datetime | None = None) -> Incident:
    """Close a resolved incident nobody answered about within `auto_close_after` of its resolution (closed
    automatically, recorded on the timeline). Conflict when it is not due (yet); TransitionNotAllowed when
    it is no longer resolved (answered, reopened, closed by staff, or by another run)."""
    now = now or timezone.now()
    after = ProcessSettings.current().auto_close_after

    def validate(locked):
        if locked.resolved_at is None or locked.resolved_at + after > now:
            raise _NotDue
        return {"now": timezone.now()}

    try:
        return _transition(
            incident,
            user=None,
            name="close",
            note=f"Closed automatically: no answer within {human_duration(after)} of the resolution.",
            history_reason=AUTO_CLOSE_REASON,
            validate=validate,
            authorised=True,
            closed_by=ClosedBy.AUTO,
            data={"closed_by": ClosedBy.AUTO},
        )
    except _NotDue:
        raise Conflict(f"{incident.number} is not due to close yet.") from None


def incidents_auto_close(*, now: datetime | None = None) -> int:
    """Close every resolved incident whose caller did not answer by the deadline (`incident_auto_close`,
    one transaction each). An incident without a caller asked nobody: it waits for staff to close it with
    the final documentation (*Resolved, waiting for closure*). Safe to run twice, or twice at once: each
    incident is locked and checked again, and one closed meanwhile is skipped. Returns how many it
    closed."""
    now = now or timezone.now()
    cutoff = now - ProcessSettings.current().auto_close_after
    asked = Q(caller__isnull=False) | ~Q(caller_email="")
    due = Incident.objects.filter(asked, state=State.RESOLVED, resolved_at__lte=cutoff).order_by(
        "resolved_at", "pk"
    )
    closed = 0
    for incident in due.only("pk", "number", "state"):
        try:
            incident_auto_close(incident=incident, now=now)
        except Conflict:  # TransitionNotAllowed too: someone answered or closed it meanwhile
            continue
        closed += 1
    if closed:
        logger.info("Closed %s resolved incident(s) without an answer from the caller", closed)
    return closed
