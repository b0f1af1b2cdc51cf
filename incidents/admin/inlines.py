"""View-only inlines of the incident page: what the services recorded (checklist, comments, files, timeline).

Ticking a step is a button posting to `IncidentAdmin.checklist_done_view`; it belongs to a form outside
the main change form (the HTML `form` attribute), so it never submits the incident's unsaved edits. Skipping
one opens its own page, which asks for the reason.
"""

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html

from .. import selectors, timeline
from ..formatting import zoned_time
from ..models import Attachment, ChecklistItem, Comment, TimelineEvent

CHECKLIST_FORM_ID = "checklist-form"


class ViewOnlyInline(admin.TabularInline):
    """Inlines that show what services wrote; nothing is edited, added or deleted through them."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ChecklistInline(ViewOnlyInline):
    """The runbook steps; required ones are marked, and hold up resolving until done or skipped with a
    reason (*Skip…* opens `IncidentAdmin.checklist_skip_view`)."""

    model = ChecklistItem
    verbose_name = "checklist step"
    verbose_name_plural = "Checklist (response plan)"
    fields = ("order", "step", "done_at", "done_by", "skipped")
    readonly_fields = ("order", "step", "done_at", "done_by", "skipped", "tick")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("done_by", "skipped_by")

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.is_open and request.user.has_perm("incidents.change_checklistitem"):
            fields.append("tick")
        return fields

    @admin.display(description="step")
    def step(self, item):
        if not item.required:
            return item.text
        return format_html(
            '{} <span class="itsm-required" title="{}">required</span>',
            item.text,
            "Resolving waits until this step is done or skipped with a reason.",
        )

    @admin.display(description="skipped")
    def skipped(self, item):
        if item.skipped_at is None:
            return "-"
        who = item.skipped_by.get_username() if item.skipped_by else "?"
        return f"{item.skip_reason} ({who}, {zoned_time(item.skipped_at)})"

    @admin.display(description="")
    def tick(self, item):
        if item.pk is None:  # the formset's empty form
            return ""
        if item.done_at:
            return "✓"
        if item.skipped_at:
            return "skipped"
        skip_url = reverse(
            f"{self.admin_site.name}:incidents_incident_checklist_skip",
            args=[quote(item.incident_id), item.pk],
        )
        return format_html(
            '<button type="submit" class="button" form="{}" name="item" value="{}">Mark done</button> '
            '<a class="button" href="{}" title="{}">Skip…</a>',
            CHECKLIST_FORM_ID,
            item.pk,
            skip_url,
            "Skip a step that does not apply, saying why",
        )


class ReadableEventsInline(ViewOnlyInline):
    """Timeline entries as far as the user may read them: internal work notes only for roles that read
    them (`selectors.readable_events_q`, the API's rule)."""

    def get_queryset(self, request):
        events = super().get_queryset(request).select_related("actor")
        condition = selectors.readable_events_q(request.user)
        return events if condition is None else events.filter(condition)


class CommentInline(ReadableEventsInline):
    model = Comment
    verbose_name_plural = "Comments"
    fields = ("created_at", "actor", "visibility", "note")
    readonly_fields = fields
    ordering = ("created_at", "pk")


class AttachmentInline(ViewOnlyInline):
    """The incident's files as far as the user may read them (`selectors.readable_attachments_q`), each a
    download link through the view that checks it again."""

    model = Attachment
    verbose_name_plural = "Files"
    fields = ("created_at", "download", "file_size", "sender", "visibility")
    readonly_fields = fields
    ordering = ("created_at", "pk")

    def has_view_permission(self, request, obj=None):
        # Whoever sees the incident page sees the files the rule lets them read: no separate permission.
        return request.user.has_perm("incidents.view_incident")

    def get_queryset(self, request):
        files = super().get_queryset(request).select_related("uploaded_by")
        condition = selectors.readable_attachments_q(request.user)
        return files if condition is None else files.filter(condition)

    @admin.display(description="file")
    def download(self, attachment):
        return format_html('<a href="{}">{}</a>', attachment.get_absolute_url(), attachment.name)

    @admin.display(description="size")
    def file_size(self, attachment):
        return filesizeformat(attachment.size)

    @admin.display(description="from")
    def sender(self, attachment):
        if attachment.uploaded_by:
            return attachment.uploaded_by.get_full_name() or attachment.uploaded_by.get_username()
        return attachment.sender_name or attachment.sender_email


class TimelineInline(ReadableEventsInline):
    model = TimelineEvent
    verbose_name = "event"
    verbose_name_plural = "Timeline"
    fields = ("created_at", "kind", "actor", "change", "entry_note", "visibility")
    readonly_fields = fields
    ordering = ("created_at", "pk")

    @admin.display(description="note")
    def entry_note(self, event):
        """The note beside its kind, each word once ("Logged" | "pve-07 down", not "Logged: pve-07 down")."""
        return timeline.event_note(event)

    @admin.display(description="state")
    def change(self, event):
        if event.from_state and event.to_state and event.from_state != event.to_state:
            return f"{event.get_from_state_display()} → {event.get_to_state_display()}"
        return event.get_to_state_display() or event.transition or ""
