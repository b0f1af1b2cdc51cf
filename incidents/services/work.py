"""Work on an incident besides its transitions (comments, runbook steps) and problem records."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import limits
from ..choices import (
    EventKind,
    Visibility,
)
from ..exceptions import Conflict, PermissionDenied, TransitionNotAllowed, ValidationError
from ..models import (
    ChecklistItem,
    Incident,
    Problem,
    TimelineEvent,
)
from .base import (
    _check_choice,
    _check_title,
    _event,
    _raise_if,
    _require,
    next_number,
)

# --- work on an incident ---------------------------------------------------------------------------------


@transaction.atomic
def comment_add(
    *, incident: Incident, user, body: str, visibility: str = Visibility.INTERNAL
) -> TimelineEvent:
    """Internal work notes are for support staff; public updates are what the reporter and the caller see,
    and what they may add themselves."""
    errors: dict = {}
    _require(errors, body=body)
    limits.check_text(errors, body=body)
    _check_choice(errors, "visibility", visibility, Visibility)
    _raise_if(errors)
    is_staff_role = user.has_perm("incidents.add_comment")
    concerned = user.pk in (incident.reporter_id, incident.caller_id)
    if not is_staff_role and not (concerned and visibility == Visibility.PUBLIC):
        raise PermissionDenied("You may not comment on this incident.")
    return _event(incident, kind=EventKind.COMMENT, user=user, note=body.strip(), visibility=visibility)


@transaction.atomic
def checklist_item_done(*, item: ChecklistItem, user) -> ChecklistItem:
    """Tick a runbook step, recording who and when. Ticking a done step again changes nothing."""
    if not user.has_perm("incidents.change_checklistitem"):
        raise PermissionDenied("You may not tick checklist steps.")
    locked = ChecklistItem.objects.select_for_update().get(pk=item.pk)
    if locked.done_at:
        return locked
    if not locked.incident.is_open:
        raise TransitionNotAllowed(
            transition="tick a checklist step of", state=locked.incident.state, allowed=[]
        )
    locked.done_at, locked.done_by = timezone.now(), user
    locked.save(update_fields=["done_at", "done_by"])
    _event(
        locked.incident, kind=EventKind.CHECKLIST, user=user, note=locked.text, data={"step_id": locked.pk}
    )
    return locked


@transaction.atomic
def checklist_item_skip(*, item: ChecklistItem, user, reason: str) -> ChecklistItem:
    """Skip a runbook step that does not apply, saying why (a required step then no longer holds up
    resolving). Recorded on the step and the timeline. A done step cannot be skipped; skipping a skipped
    step again changes nothing."""
    if not user.has_perm("incidents.change_checklistitem"):
        raise PermissionDenied("You may not skip checklist steps.")
    errors: dict = {}
    _require(errors, reason=reason)
    limits.check_text(errors, reason=reason)
    _raise_if(errors)
    locked = ChecklistItem.objects.select_for_update().get(pk=item.pk)
    if locked.skipped_at:
        return locked
    if not locked.incident.is_open:
        raise TransitionNotAllowed(
            transition="skip a checklist step of", state=locked.incident.state, allowed=[]
        )
    if locked.done_at:
        raise Conflict(f"Step {locked.order} is already done; a done step is not skipped.")
    locked.skipped_at, locked.skipped_by, locked.skip_reason = timezone.now(), user, reason.strip()
    locked.save(update_fields=["skipped_at", "skipped_by", "skip_reason"])
    _event(
        locked.incident,
        kind=EventKind.CHECKLIST_SKIP,
        user=user,
        note=f"{locked.text}: {locked.skip_reason}",
        data={"step_id": locked.pk, "required": locked.required, "reason": locked.skip_reason},
    )
    return locked


@transaction.atomic
def problem_create(*, user, title: str, description: str = "", workaround: str = "") -> Problem:
    if not user.has_perm("incidents.add_problem"):
        raise PermissionDenied("You may not create problem records.")
    errors: dict = {}
    _require(errors, title=title)
    _check_title(errors, title, model=Problem)
    limits.check_text(errors, description=description, workaround=workaround)
    _raise_if(errors)
    problem = Problem(
        number=next_number("problem", "PRB"),
        title=title,
        description=description,
        workaround=workaround,
        is_known_error=bool(workaround),
    )
    problem._history_user = user
    problem.save()
    return problem


# Fields of a problem record people edit; the number is given at creation.
PROBLEM_EDITABLE_FIELDS = ("title", "description", "status", "root_cause", "is_known_error", "workaround")


@transaction.atomic
def problem_update(*, problem: Problem, user, data: dict) -> Problem:
    """Edit a problem record (`incidents.change_problem`) within the limits `problem_create` applies: a
    one-line title, bounded free text. Only the fields in `data` change; the history names the user and
    the fields changed."""
    if not user.has_perm("incidents.change_problem"):
        raise PermissionDenied("You may not edit problem records.")
    unknown = set(data) - set(PROBLEM_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            {f: ["Read-only: not an editable field of a problem record."] for f in sorted(unknown)}
        )
    errors: dict = {}
    if "title" in data:
        _require(errors, title=data["title"])
        _check_title(errors, data["title"], model=Problem)
    if "status" in data:
        _require(errors, status=data["status"])
        _check_choice(errors, "status", data["status"], Problem.Status)
    limits.check_text(
        errors, **{f: data[f] for f in ("description", "root_cause", "workaround") if f in data}
    )
    _raise_if(errors)
    locked = Problem.objects.select_for_update().get(pk=problem.pk)
    changed = [field for field, value in data.items() if getattr(locked, field) != value]
    if not changed:
        return locked
    for field in changed:
        setattr(locked, field, data[field])
    locked._history_user = user
    locked._change_reason = "edited: " + ", ".join(changed)
    locked.save()
    return locked
