"""Reference data people change (SLA policies, the process settings) and each user's own settings."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from .. import limits
from .. import permissions as perms
from ..choices import Severity
from ..exceptions import PermissionDenied, ValidationError
from ..formatting import exact_duration
from ..models import (
    ProcessSettings,
    SlaPolicy,
    UserPreference,
)
from .base import (
    _check_choice,
    _raise_if,
    _require,
)

# How long a resolved incident may wait for its caller's answer before it closes itself.
MIN_AUTO_CLOSE_AFTER = timedelta(hours=1)
MAX_AUTO_CLOSE_AFTER = timedelta(days=90)

# --- reference data --------------------------------------------------------------------------------------


@transaction.atomic
def sla_policy_update(
    *, policy: SlaPolicy, user, response_target: timedelta, resolution_target: timedelta
) -> SlaPolicy:
    """Change one severity's targets (seed 3.1 defaults: S1 15 min / 4 h, S2 30 min / 8 h, S3 4 h / 24 h,
    S4 24 h / 72 h). Incident Managers only (`incidents.change_slapolicy`); both targets at least
    `limits.MIN_SLA_TARGET` and at most `limits.MAX_SLA_TARGET`, and the resolution target no shorter than
    the response target. Incidents already classified keep their due times until their severity changes or
    they leave hold."""
    if not user.has_perm("incidents.change_slapolicy"):
        raise PermissionDenied("Only Incident Managers may change SLA policies.")
    errors: dict = {}
    for field, value in (("response_target", response_target), ("resolution_target", resolution_target)):
        if value is None or value < limits.MIN_SLA_TARGET:
            errors.setdefault(field, []).append("At least 1 minute.")
        elif value > limits.MAX_SLA_TARGET:
            errors.setdefault(field, []).append(f"At most {limits.MAX_SLA_TARGET.days} days.")
    if not errors and resolution_target < response_target:
        errors["resolution_target"] = ["Cannot be shorter than the response target."]
    _raise_if(errors)
    locked = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
    locked.response_target, locked.resolution_target = response_target, resolution_target
    locked._history_user = user
    locked._change_reason = (
        f"SLA targets: respond in {exact_duration(response_target)}, "
        f"resolve in {exact_duration(resolution_target)}"
    )
    locked.save()
    return locked


@transaction.atomic
def process_settings_update(
    *, user, provisional_severity: str, auto_close_after: timedelta
) -> ProcessSettings:
    """Change the process's adjustable defaults (the one `ProcessSettings` row). Incident Managers only.

    - `provisional_severity`: what an incident gets at logging when the caller gave no urgency and impact
      (default S3); incidents already logged keep theirs until classified;
    - `auto_close_after`: how long a resolved incident waits for its caller's answer before it closes
      itself (default 5 days), between `MIN_AUTO_CLOSE_AFTER` and `MAX_AUTO_CLOSE_AFTER`."""
    if not perms.is_incident_manager(user):
        raise PermissionDenied("Only Incident Managers may change the process settings.")
    errors: dict = {}
    _require(errors, provisional_severity=provisional_severity)
    _check_choice(errors, "provisional_severity", provisional_severity, Severity)
    if auto_close_after is None or auto_close_after < MIN_AUTO_CLOSE_AFTER:
        errors["auto_close_after"] = [f"At least {exact_duration(MIN_AUTO_CLOSE_AFTER)}."]
    elif auto_close_after > MAX_AUTO_CLOSE_AFTER:
        errors["auto_close_after"] = [f"At most {MAX_AUTO_CLOSE_AFTER.days} days."]
    _raise_if(errors)
    ProcessSettings.current()  # the row exists (the migration made it; a fresh database makes it now)
    locked = ProcessSettings.objects.select_for_update().get(pk=1)
    locked.provisional_severity, locked.auto_close_after = provisional_severity, auto_close_after
    locked.save()
    return locked


# --- the user's own settings -----------------------------------------------------------------------------


@transaction.atomic
def user_preference_set(*, user, time_zone: str) -> UserPreference:
    """Set the time zone `user` sees times in (an IANA name; empty for the site's `TIME_ZONE`). Anyone
    signed in, for themselves only: the admin's *Preferences* page passes `request.user`."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied("Sign in to set your preferences.")
    time_zone = (time_zone or "").strip()
    errors = limits.time_zone_errors(time_zone)
    if errors:
        raise ValidationError({"time_zone": errors})
    preference, _ = UserPreference.objects.select_for_update().get_or_create(user=user)
    if preference.time_zone != time_zone:
        preference.time_zone = time_zone
        preference.save(update_fields=["time_zone"])
    return preference
