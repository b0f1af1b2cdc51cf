"""The caller of an incident: the person affected, who is told about the fix and confirms it (seed 2.1
"Closure: verification ... Incident Manager, User"). A lab user's account, or a contact without a login (name
and e-mail). The reporter is who typed the incident in and stays separate."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from .. import limits
from .. import permissions as perms
from ..models import AlertSource, Incident

CALLER_FIELDS = ("caller", "caller_name", "caller_email")
NAME_LENGTH = Incident._meta.get_field("caller_name").max_length
EMAIL_LENGTH = Incident._meta.get_field("caller_email").max_length


def _is_alert_account(user) -> bool:
    return AlertSource.objects.filter(account_id=user.pk).exists()


def default_caller(reporter):
    """The caller when nobody else is named: the reporter, when they are a lab user logging their own
    incident. Not staff logging on someone's behalf (a support role), and not an alert source's account."""
    if reporter is None or not reporter.is_authenticated or not reporter.is_active:
        return None
    if perms.is_support_role(reporter) or _is_alert_account(reporter):
        return None
    return reporter


def _account_with_email(email: str):
    """The one active account with this address (case-insensitive); None when there is none or several."""
    matches = list(get_user_model().objects.filter(email__iexact=email, is_active=True)[:2])
    return matches[0] if len(matches) == 1 else None


def clean_caller(errors: dict, *, caller=None, caller_name: str = "", caller_email: str = "") -> dict:
    """Check a caller given as an account, or as a contact (name and e-mail), and return the three fields
    to store. An e-mail address that belongs to an active account links that account (its own name and
    address are then used, so the contact fields stay empty). Problems go to `errors` under the field."""
    name = (caller_name or "").strip()
    email = (caller_email or "").strip()
    if "\x00" in name or not limits.LINE_BREAKS.isdisjoint(name):
        errors.setdefault("caller_name", []).append("One line, without control characters.")
    elif len(name) > NAME_LENGTH:
        errors.setdefault("caller_name", []).append(f"At most {NAME_LENGTH} characters.")
    if email:
        try:
            validate_email(email)
            if len(email) > EMAIL_LENGTH:
                raise DjangoValidationError("too long")
        except DjangoValidationError:
            errors.setdefault("caller_email", []).append("Enter a valid e-mail address.")
            email = ""
    if caller is not None:
        if name or email:
            errors.setdefault("caller", []).append(
                "Name the caller either by account or by name and e-mail, not both."
            )
        if not caller.is_active:
            errors.setdefault("caller", []).append("The caller's account is inactive.")
        elif _is_alert_account(caller):
            errors.setdefault("caller", []).append("An alert source's account cannot be a caller.")
        return {"caller": caller, "caller_name": "", "caller_email": ""}
    if email:
        account = _account_with_email(email)
        if account is not None and not _is_alert_account(account):
            return {"caller": account, "caller_name": "", "caller_email": ""}
        if not name:
            errors.setdefault("caller_name", []).append("Give the caller's name with their e-mail address.")
    elif name:
        errors.setdefault("caller_email", []).append(
            "Give the caller's e-mail address: it is how they are told about the fix."
        )
    return {"caller": None, "caller_name": name, "caller_email": email}


def check_caller_allowed(errors: dict, *, user, callers: dict) -> None:
    """Who may name whom: someone who does not see every tier's incidents (a lab user, External Support)
    names only themselves. Naming another account would show them that person's incident (the caller sees
    it) and send it their messages; naming a contact would send an outside address the incident's mail."""
    if user is None or user.has_perm("incidents.view_all_incidents"):
        return
    if callers.get("caller_name") or callers.get("caller_email"):
        errors.setdefault("caller_email", []).append("You may name only yourself as the caller.")
    elif callers.get("caller") is not None and callers["caller"].pk != user.pk:
        errors.setdefault("caller", []).append("You may name only yourself as the caller.")
