"""Pieces shared by the incident and reference-data admins."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.db.models import Q
from django.templatetags.static import static
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django_fsm import TransitionNotAllowed as FSMTransitionNotAllowed
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

from .. import clocks
from ..choices import Clock, State
from ..clocks import Phase
from ..exceptions import Conflict, PermissionDenied, TransitionNotAllowed, ValidationError
from ..formatting import exact_duration, human_duration, zoned_time

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
    if isinstance(exc, TransitionNotAllowed):  # the API's wording names states by their codes
        state = State(exc.state).label.lower() if exc.state in State.values else exc.state
        possible = ", ".join(exc.allowed) if exc.allowed else "nothing you may do"
        return f"It is {state}: you cannot {exc.transition} it now (possible: {possible})."
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
            return date_format(timezone.localtime(value), "DATETIME_FORMAT")
        if isinstance(value, timedelta):
            return exact_duration(value)
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
    """3 days 4 h, 5 h 12 min, 40 min (`incidents.formatting.human_duration`)."""
    return human_duration(abs(delta))


def badge(text, tone: str, title: str = ""):
    return format_html('<span class="itsm-badge itsm-{}" title="{}">{}</span>', tone, title, text)


def severity_badge(incident):
    """The severity; a provisional one (given at logging, until classification) says so beside it."""
    if not incident.severity:
        return badge("unclassified", "muted")
    if incident.severity_provisional:
        return format_html(
            '{} <span class="itsm-provisional" title="{}">provisional</span>',
            badge(incident.severity, f"sev-{incident.severity}", incident.get_severity_display()),
            "Given at logging; classification sets the real severity.",
        )
    return badge(incident.severity, f"sev-{incident.severity}", incident.get_severity_display())


def state_badge(incident):
    return badge(incident.get_state_display(), f"state-{incident.state}")


# --- SLA clocks (the rules: `incidents.clocks`; here only how they read) -----------------------------------

# What a running clock says, in time and late: "respond in 12 min", "breached 20 min ago". The badge carries
# both, so the countdown script (`incidents/clocks.js`) words it the same way as it ticks past the due time.
CLOCK_WORDS = {
    Clock.RESPONSE: ("respond in {}", "response late {}"),
    Clock.RESOLUTION: ("resolve in {}", "breached {} ago"),
}
TONES = {
    Phase.RUNNING: "ok",
    Phase.DUE_SOON: "warn",
    Phase.LATE: "breach",
    Phase.MET: "ok",
    Phase.BREACHED: "breach",
    Phase.NONE: "muted",
    Phase.CANCELLED: "muted",
}


def sla_status(incident, now=None) -> tuple[str, str]:
    """(label, tone) of the clock that matters now (`clocks.reading`): the response clock until the first
    response, then the resolution clock, paused while on hold, met or breached once resolved. Tones: ok
    (green), warn (amber), breach (red), paused, muted."""
    return _status(clocks.reading(incident, now))


def _status(reading: clocks.ClockReading) -> tuple[str, str]:
    if reading.phase == Phase.NONE:  # no due times: a record imported without them
        return "no SLA clock", "muted"
    if reading.phase == Phase.CANCELLED:
        return "cancelled", "muted"
    if reading.phase in (Phase.MET, Phase.BREACHED):
        return reading.phase, TONES[reading.phase]
    if reading.phase == Phase.PAUSED:
        if reading.left < timedelta(0):
            return "breached · paused", "breach"
        return f"paused · {human_duration(reading.left)} left", "paused"
    in_time, late = CLOCK_WORDS[reading.clock]
    words = late if reading.phase == Phase.LATE else in_time
    return words.format(human_duration(abs(reading.left))), TONES[reading.phase]


def _breach_summary(incident, reading: clocks.ClockReading) -> str:
    parts = []
    for name, due, breached in (
        ("response", incident.response_due_at, reading.response_breached),
        ("resolution", incident.resolution_due_at, reading.resolution_breached),
    ):
        if due is not None:
            parts.append(f"{name} {'breached' if breached else 'in time'}")
    return ", ".join(parts)


def sla_badge(incident, now=None):
    """The SLA badge of the header and the list. A running clock's badge carries its due time (`data-due`),
    when it turns amber (`data-warn`) and its wording, for the live countdown in the browser."""
    now = now or timezone.now()
    reading = clocks.reading(incident, now)
    label, tone = _status(reading)
    title = due_times_text(incident, now=now)
    if reading.phase in (Phase.MET, Phase.BREACHED) or reading.breached:
        title = f"{title} ({_breach_summary(incident, reading)})"
    if reading.phase not in (Phase.RUNNING, Phase.DUE_SOON, Phase.LATE):
        return badge(label, f"sla-{tone}", title)
    in_time, late = CLOCK_WORDS[reading.clock]
    return format_html(
        '<span class="itsm-badge itsm-sla itsm-sla-{}" title="{}" data-due="{}" data-warn="{}" '
        'data-in-time="{}" data-late="{}">{}</span>',
        tone,
        title,
        reading.due_at.isoformat(),
        reading.warn_at.isoformat(),
        in_time,
        late,
        label,
    )


def _due_parts(incident, now) -> list[tuple[str, str]]:
    """(text, full date) of each due time the incident has; none once cancelled (no clock ran to its end).
    On hold the resolution due time is not a time yet (resuming moves it later by the time on hold): the
    time left when the hold began stands in for it."""
    if incident.state == State.CANCELLED:
        return []
    parts = []
    if incident.response_due_at is not None:
        due = incident.response_due_at
        parts.append((f"Response due {zoned_time(due, now=now)}", zoned_time(due, full=True)))
    if incident.resolution_due_at is not None:
        due = incident.resolution_due_at
        if incident.state in clocks.PAUSED:
            left = clocks.resolution_time_left(incident, now)
            text = (
                f"Resolution clock paused, {human_duration(left)} left"
                if left is not None and left > timedelta()
                else "Resolution breached before the hold"
            )
            parts.append((text, f"Resolution was due {zoned_time(due, full=True)} before the hold"))
        else:
            parts.append((f"Resolution due {zoned_time(due, now=now)}", zoned_time(due, full=True)))
    return parts


def due_times_text(incident, now=None) -> str:
    """ "Response due 23:15 CET · Resolution due 03:00 CET" in the user's time zone; "" without
    due times."""
    return " · ".join(text for text, _ in _due_parts(incident, now))


def due_times(incident, now=None):
    """The header's due times (`due_times_text`), each with its full date and zone as a tooltip."""
    parts = _due_parts(incident, now)
    if not parts:
        return ""
    return format_html(
        '<span class="itsm-meta itsm-due-times">{}</span>',
        format_html_join(" · ", '<span title="{}">{}</span>', ((full, text) for text, full in parts)),
    )


def breach_mark(breached: bool | None):
    """ "No ✓" (green) or "Yes ✗" (red) for a "… breached" field: a breached clock is the red one (the admin's
    boolean icons would show a breach as a green tick). "-" when the clock has no target yet."""
    if breached is None:
        return "-"
    icon, text = ("no", "Yes") if breached else ("yes", "No")
    return format_html(
        '<span class="itsm-breach-{}">{} <img src="{}" alt="{}"></span>',
        "yes" if breached else "no",
        text,
        static(f"admin/img/icon-{icon}.svg"),
        "breached" if breached else "not breached",
    )
