"""The links that let a caller answer "is it fixed?" without signing in.

Each link carries a signed token (`django.core.signing`, its own salt) naming the incident, the answer, and
the resolution it answers: the incident's `reopen_count` and `resolved_at`. Once the caller has answered
(the incident closed or reopened), or the incident was reopened and resolved again, the token no longer
matches and the link is dead; a new resolution sends new links. A link also expires when the auto-close
would happen (`ProcessSettings.auto_close_after` after the resolution), whatever the incident's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import models
from django.urls import reverse
from django.utils import timezone

from .choices import State
from .exceptions import Conflict
from .models import Incident, ProcessSettings

SALT = "incidents.caller-answer"


class Answer(models.TextChoices):
    FIXED = "fixed", "Confirm it's fixed"
    NOT_FIXED = "not_fixed", "It's not fixed"


URL_NAMES = {Answer.FIXED: "caller-confirm", Answer.NOT_FIXED: "caller-not-fixed"}


class LinkRefused(Conflict):
    """A caller's link that cannot be used: `reason` is "invalid" (not a link we made), "expired" (past the
    answer deadline) or "used" (answered already, or the incident has moved on)."""

    code = "link_refused"

    def __init__(self, reason: str, message: str, *, incident: Incident | None = None):
        self.reason, self.incident = reason, incident
        super().__init__(message)


@dataclass(frozen=True)
class CallerLinks:
    confirm_url: str
    not_fixed_url: str
    expires_at: datetime


def _resolution_stamp(incident: Incident) -> int:
    """The resolution a link answers, as whole microseconds (the same on every database)."""
    return round(incident.resolved_at.timestamp() * 1_000_000)


def answer_deadline(incident: Incident) -> datetime:
    """Until when the caller may answer: the moment the auto-close takes over."""
    return incident.resolved_at + ProcessSettings.current().auto_close_after


def answer_token(incident: Incident, answer: str) -> str:
    """The signed token of one answer to the incident's current resolution."""
    payload = {
        "i": incident.pk,
        "a": str(answer),
        "r": incident.reopen_count,
        "t": _resolution_stamp(incident),
    }
    return signing.dumps(payload, salt=SALT, compress=True)


def caller_links(incident: Incident) -> CallerLinks:
    """Absolute links (`SITE_URL`) for the caller's two answers to a resolved incident."""
    site = getattr(settings, "SITE_URL", "").rstrip("/")
    urls = {
        answer: site + reverse(URL_NAMES[answer], args=[answer_token(incident, answer)]) for answer in Answer
    }
    return CallerLinks(
        confirm_url=urls[Answer.FIXED],
        not_fixed_url=urls[Answer.NOT_FIXED],
        expires_at=answer_deadline(incident),
    )


def read_token(token: str, answer: str) -> Incident:
    """The incident a link for `answer` is about, or LinkRefused saying why it cannot be used."""
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        payload = None
    if not isinstance(payload, dict) or payload.get("a") != str(answer):
        raise LinkRefused(
            "invalid", "This link is not valid. Check that it was copied whole from the e-mail."
        )
    incident = Incident.objects.filter(pk=payload.get("i")).first()
    if incident is None:
        raise LinkRefused("invalid", "This link is not valid: the incident it names does not exist.")
    check_answerable(incident, payload)
    return incident


def check_answerable(incident: Incident, payload: dict) -> None:
    """LinkRefused unless the incident still waits for the answer to the resolution the link names."""
    same_resolution = (
        incident.state == State.RESOLVED
        and incident.reopen_count == payload.get("r")
        and _resolution_stamp(incident) == payload.get("t")
    )
    if same_resolution and timezone.now() >= answer_deadline(incident):
        raise LinkRefused(
            "expired",
            f"This link has expired: the time to answer about {incident.number} is over, and it closes "
            "without an answer. If the problem is back, contact the Service Desk.",
            incident=incident,
        )
    if not same_resolution:
        if incident.state == State.CLOSED:
            message = f"{incident.number} is closed already: there is nothing left to answer."
        elif incident.state == State.RESOLVED:
            message = f"{incident.number} was resolved again since this link was sent: use the newest e-mail."
        else:
            message = (
                f"{incident.number} is being worked on again: this link has been used or replaced. You will "
                "get a new one when it is resolved."
            )
        raise LinkRefused("used", message, incident=incident)


def token_payload(token: str) -> dict:
    """The payload of a token `read_token` accepted (for checking it again under the row lock)."""
    return signing.loads(token, salt=SALT)
