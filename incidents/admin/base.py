"""Pieces shared by the incident and reference-data admins."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django_fsm import TransitionNotAllowed as FSMTransitionNotAllowed
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

from ..choices import State
from ..exceptions import Conflict, PermissionDenied, ValidationError

# What a service may refuse with (Conflict covers TransitionNotAllowed); the admin shows them as messages,
# never as a 500.
DOMAIN_ERRORS = (Conflict, PermissionDenied, ValidationError, FSMTransitionNotAllowed)


def error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return " ".join(
                f"{field.replace('_', ' ').capitalize()}: {' '.join(msgs)}"
                for field, msgs in exc.message_dict.items()
            )
        return " ".join(exc.messages)
    return str(exc) or "You may not do this."


class AuditHistoryContextHelper(HistoricalRecordContextHelper):
    """Show history changes as people read them: choice labels, local times, "—" for nothing."""

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        field = self.model._meta.get_field(change.field)
        if value in (None, "") or (isinstance(value, DeletedObject) and value.pk is None):
            return "—"
        if field.choices:
            return dict(field.flatchoices).get(value, value)
        if isinstance(value, datetime):
            return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
        return value


class AuditedAdmin(SimpleHistoryAdmin):
    """History is an audit trail: it can be read, never posted back (no revert, whatever the template shows)."""

    history_list_per_page = 50

    def get_historical_record_context_helper(self, request, historical_record):
        return AuditHistoryContextHelper(self.model, historical_record)

    # Both history pages look the object up through `get_queryset` first, so a row the user may not see
    # (an incident outside their visibility) has no history for them either, and a malformed id is "does
    # not exist" rather than a 500.
    def history_view(self, request, object_id, extra_context=None):
        if self.get_object(request, unquote(object_id)) is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise DjangoPermissionDenied("History is read-only.")
        if not str(version_id).isdigit() or self.get_object(request, unquote(object_id)) is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


class ServiceFormAdminMixin:
    """For admins whose form is an `incidents.forms.ServiceModelForm`: the form saves through a service."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user  # modelform_factory built this class for this request alone
        return form

    def save_model(self, request, obj, form, change):
        if getattr(form, "saved", None) is None:
            super().save_model(request, obj, form, change)

    def render_change_form(self, request, context, *args, **kwargs):
        adminform = context.get("adminform")
        if adminform is not None and getattr(adminform.form, "saved", None) is not None:
            # The service saved during validation but the page is shown again (an inline was invalid):
            # roll back the admin's request transaction so nothing half-done is kept.
            transaction.set_rollback(True)
        return super().render_change_form(request, context, *args, **kwargs)


class VisibleIncidentsMixin:
    """Admin lists of incidents, or of rows about one (`incident_path` leads to it), show only what the
    user may see: the one visibility rule of `incidents.selectors`."""

    incident_path = "incident__"
    incident_optional = False  # rows about no incident at all stay visible

    def get_queryset(self, request):
        from .. import selectors

        queryset = super().get_queryset(request)
        condition = selectors.visibility_q(request.user, self.incident_path)
        if condition is None:
            return queryset
        if self.incident_optional:
            condition |= Q(**{f"{self.incident_path}isnull": True})
        return queryset.filter(condition)


def message_error(model_admin, request, exc: Exception) -> None:
    model_admin.message_user(request, error_text(exc), messages.ERROR)


# --- display helpers -------------------------------------------------------------------------------------


def humanize(delta: timedelta) -> str:
    """3d 4h, 5h 12m, 40m: precise enough for an SLA clock, short enough for a list column."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def badge(text, tone: str, title: str = ""):
    return format_html('<span class="itsm-badge itsm-{}" title="{}">{}</span>', tone, title, text)


def severity_badge(incident):
    if not incident.severity:
        return badge("unclassified", "muted")
    return badge(incident.severity, f"sev-{incident.severity}", incident.get_severity_display())


def state_badge(incident):
    return badge(incident.get_state_display(), f"state-{incident.state}")


# A clock is amber once less than this share of its resolution window is left.
AMBER_SHARE = 0.25


def sla_status(incident, now=None) -> tuple[str, str]:
    """(label, tone) of the incident's SLA: time left while the clock runs, paused while on hold, met or
    breached once resolved. Tones: ok (green), warn (amber), breach (red), paused, muted."""
    now = now or timezone.now()
    if incident.state == State.CANCELLED:
        return "cancelled", "muted"
    if incident.resolution_due_at is None:
        return "not classified", "muted"
    breached = incident.response_breached or incident.resolution_breached
    if incident.state in (State.RESOLVED, State.CLOSED):
        return ("breached", "breach") if breached else ("met", "ok")
    left = incident.resolution_time_left(now)
    if incident.state == State.ON_HOLD:
        if breached:
            return "breached · paused", "breach"
        return f"paused · {humanize(left)} left", "paused"
    if left < timedelta(0):
        return f"breached {humanize(left)} ago", "breach"
    if breached:
        return f"response late · {humanize(left)} left", "breach"
    window = incident.resolution_due_at - incident.created_at
    if left < window * AMBER_SHARE:
        return f"{humanize(left)} left", "warn"
    return f"{humanize(left)} left", "ok"


def sla_badge(incident, now=None):
    label, tone = sla_status(incident, now)
    due = incident.resolution_due_at
    title = f"resolution due {timezone.localtime(due):%Y-%m-%d %H:%M}" if due else ""
    return badge(label, f"sla-{tone}", title)
