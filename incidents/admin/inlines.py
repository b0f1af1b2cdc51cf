"""View-only inlines of the incident page: what the services recorded (checklist, comments, timeline).

Ticking a step is a button posting to `IncidentAdmin.checklist_done_view`; it belongs to a form outside
the main change form (the HTML `form` attribute), so it never submits the incident's unsaved edits.
"""

from django.contrib import admin
from django.utils.html import format_html

from .. import selectors
from ..models import ChecklistItem, Comment, TimelineEvent

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
    model = ChecklistItem
    verbose_name = "checklist step"
    verbose_name_plural = "Checklist (response plan)"
    fields = ("order", "text", "done_at", "done_by")
    readonly_fields = ("order", "text", "done_at", "done_by", "tick")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("done_by")

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.is_open and request.user.has_perm("incidents.change_checklistitem"):
            fields.append("tick")
        return fields

    @admin.display(description="")
    def tick(self, item):
        if item.done_at:
            return "✓"
        return format_html(
            '<button type="submit" class="button" form="{}" name="item" value="{}">Mark done</button>',
            CHECKLIST_FORM_ID,
            item.pk,
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


class TimelineInline(ReadableEventsInline):
    model = TimelineEvent
    verbose_name = "event"
    verbose_name_plural = "Timeline"
    fields = ("created_at", "kind", "actor", "change", "note", "visibility")
    readonly_fields = fields
    ordering = ("created_at", "pk")

    @admin.display(description="state")
    def change(self, event):
        if event.from_state and event.to_state and event.from_state != event.to_state:
            return f"{event.get_from_state_display()} → {event.get_to_state_display()}"
        return event.get_to_state_display() or event.transition or ""
