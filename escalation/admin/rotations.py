"""On call in the admin: rotations (members, overrides, history), the 14-day schedule with warnings about
the stretches nobody covers, and the calendar feeds people subscribe to (each rotation's, and everyone's
own on *Your on-call calendar*).

Writes go through `escalation.services`; this module decides what to show."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from incidents.admin.base import DOMAIN_ERRORS, AuditedAdmin, error_text
from incidents.formatting import exact_duration

from .. import selectors
from ..forms import RotationForm
from ..models import CalendarFeed, Rotation, RotationMember, RotationOverride
from ..services import calendars
from ..views import feed_address, webcal_address

SCHEDULE_DAYS = 14
GAPS_LISTED = 3  # per rotation in a warning; the schedule page shows them all
UPCOMING_LISTED = 10  # shifts listed on *Your on-call calendar*


def _when(moment, tz: ZoneInfo) -> str:
    return f"{timezone.localtime(moment, tz):%a %Y-%m-%d %H:%M}"


def gap_warning(rotation: Rotation, gaps: list[selectors.OnCall]) -> str:
    """ "Tier 1 on call: nobody is on call Tue 2026-12-08 09:00 to Wed 2026-12-09 09:00 (Europe/Madrid)…"."""
    tz = ZoneInfo(rotation.time_zone)
    spans = [f"{_when(gap.starts_at, tz)} to {_when(gap.ends_at, tz)}" for gap in gaps[:GAPS_LISTED]]
    more = f" and {len(gaps) - GAPS_LISTED} more" if len(gaps) > GAPS_LISTED else ""
    return (
        f"{rotation.name}: nobody is on call {'; '.join(spans)}{more} ({rotation.time_zone}) in the next "
        f"{SCHEDULE_DAYS} days. The whole group is notified then; add members or overrides to cover it."
    )


def _may_reset_any(request) -> bool:
    return request.user.has_perm(calendars.RESET_PERMISSION)


class RotationMemberInline(admin.TabularInline):
    model = RotationMember
    fields = ("order", "user")
    ordering = ("order", "pk")
    extra = 1


class RotationOverrideInline(admin.TabularInline):
    model = RotationOverride
    fields = ("user", "starts_at", "ends_at", "reason")
    ordering = ("-starts_at",)
    extra = 1


@admin.register(Rotation)
class RotationAdmin(AuditedAdmin):
    form = RotationForm
    change_list_template = "admin/escalation/rotation/change_list.html"
    schedule_template = "admin/escalation/oncall_schedule.html"
    list_display = (
        "name",
        "kind",
        "shift_length_display",
        "handoff_time",
        "time_zone",
        "start_date",
        "on_call_display",
    )
    fields = (
        "name",
        "kind",
        ("shift_length", "handoff_time"),
        ("time_zone", "start_date"),
        "calendar_address",
    )
    readonly_fields = ("calendar_address",)
    inlines = (RotationMemberInline, RotationOverrideInline)
    actions = ("reset_calendar_addresses",)

    @admin.display(description="shift length", ordering="shift_length")
    def shift_length_display(self, rotation):
        return exact_duration(rotation.shift_length)

    @admin.display(description="on call now")
    def on_call_display(self, rotation):
        current = selectors.on_call(kind=rotation.kind)
        if current is None or current.user is None:
            return "nobody"
        return f"{current.user.get_username()}" + (" (override)" if current.is_override else "")

    @admin.display(description="calendar address")
    def calendar_address(self, rotation):
        feed = CalendarFeed.objects.filter(rotation=rotation.pk).first() if rotation.pk else None
        if feed is None:
            return "Given once the rotation is saved."
        return format_html(
            '<code>{}</code><br><a href="{}">Open in your calendar application</a> · everyone\'s shifts, '
            "overrides included. Anyone with the address can read it: Incident Managers reset it "
            "(<em>Reset the calendar address of the selected rotations</em> on the list) when it has spread too "
            "far.",
            feed_address(feed),
            webcal_address(feed),
        )

    # --- warnings about gaps ---------------------------------------------------------------------------

    def _warn_about_gaps(self, request, rotations) -> None:
        for rotation in rotations:
            gaps = selectors.on_call_gaps(rotation=rotation, days=SCHEDULE_DAYS)
            if gaps:
                self.message_user(request, gap_warning(rotation, gaps), messages.WARNING)

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET" and self.has_view_permission(request):
            self._warn_about_gaps(request, Rotation.objects.order_by("kind"))
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        rotation = self.get_object(request, unquote(object_id))
        if rotation is not None and request.method == "GET" and self.has_view_permission(request, rotation):
            calendars.calendar_feed_for_rotation(rotation=rotation)
            self._warn_about_gaps(request, [rotation])
        return super().change_view(request, object_id, form_url, extra_context)

    # --- calendar addresses ----------------------------------------------------------------------------

    def has_reset_calendar_permission(self, request):
        return _may_reset_any(request)

    @admin.action(
        description="Reset the calendar address of the selected rotations", permissions=["reset_calendar"]
    )
    def reset_calendar_addresses(self, request, queryset):
        for rotation in queryset:
            feed = calendars.calendar_feed_for_rotation(rotation=rotation)
            try:
                calendars.calendar_feed_reset(feed=feed, user=request.user)
            except DOMAIN_ERRORS as exc:
                self.message_user(request, error_text(exc), messages.ERROR)
                return
        self.message_user(
            request,
            f"New calendar address for {queryset.count()} rotation(s): the old ones answer 404 from now on. "
            "Give subscribers the new address from the rotation's page.",
            messages.SUCCESS,
        )

    # --- the schedule ----------------------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "schedule/",
                self.admin_site.admin_view(self.schedule_view),
                name="{}_{}_schedule".format(*info),
            ),
            *super().get_urls(),
        ]

    def schedule_view(self, request):
        """Every rotation's shifts and overrides over the next 14 days, in the rotation's time zone, with its
        calendar address and a warning about the stretches nobody covers."""
        if not self.has_view_permission(request):
            raise DjangoPermissionDenied
        now = timezone.now()
        rotations = list(Rotation.objects.order_by("kind"))
        self._warn_about_gaps(request, rotations)
        calendars_shown = []
        for rotation in rotations:
            tz = ZoneInfo(rotation.time_zone)
            segments = selectors.on_call_schedule(rotation=rotation, days=SCHEDULE_DAYS)
            feed = calendars.calendar_feed_for_rotation(rotation=rotation)
            calendars_shown.append(
                {
                    "rotation": rotation,
                    "feed_address": feed_address(feed),
                    "webcal_address": webcal_address(feed),
                    "rows": [
                        {
                            "user": segment.user,
                            "starts_at": timezone.localtime(segment.starts_at, tz),
                            "ends_at": timezone.localtime(segment.ends_at, tz),
                            "is_override": segment.is_override,
                            "is_now": segment.starts_at <= now < segment.ends_at,
                        }
                        for segment in segments
                    ],
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"On-call: next {SCHEDULE_DAYS} days",
            "opts": self.opts,
            "calendars": calendars_shown,
            "days": SCHEDULE_DAYS,
            "my_calendar_url": reverse(f"{self.admin_site.name}:escalation_calendarfeed_mine"),
        }
        return render(request, self.schedule_template, context)


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Every calendar address issued, for Incident Managers to reset one that leaked; and *Your on-call
    calendar* (`mine/`), where anyone who may enter the admin finds and resets their own."""

    list_display = ("owner_display", "kind_display", "issued_at", "address_display")
    list_select_related = ("user", "rotation")
    search_fields = ("user__username", "user__first_name", "user__last_name", "rotation__name")
    search_help_text = "Search by username, name or rotation."
    fields = ("user", "rotation", "issued_at")
    readonly_fields = fields
    ordering = ("rotation__kind", "user__username")
    actions = ("reset_addresses",)
    my_calendar_template = "admin/escalation/calendarfeed/mine.html"

    def has_add_permission(self, request):
        return False  # issued when first asked for

    def has_change_permission(self, request, obj=None):
        return False  # only its token changes, by the reset action

    def has_delete_permission(self, request, obj=None):
        return False

    def has_reset_permission(self, request):
        return _may_reset_any(request)

    @admin.display(description="calendar of")
    def owner_display(self, feed):
        return feed.rotation.name if feed.rotation else feed.user.get_full_name() or feed.user.get_username()

    @admin.display(description="kind")
    def kind_display(self, feed):
        return "rotation (everyone's shifts)" if feed.rotation_id else "person (their shifts)"

    @admin.display(description="address")
    def address_display(self, feed):
        # A rotation's address is shared with the team; a person's stays theirs (shown on their own page).
        if feed.rotation_id:
            return format_html("<code>{}</code>", feed_address(feed))
        return f"…/calendars/{feed.token[:4]}…"

    @admin.action(description="Reset the selected calendar addresses", permissions=["reset"])
    def reset_addresses(self, request, queryset):
        for feed in queryset:
            try:
                calendars.calendar_feed_reset(feed=feed, user=request.user)
            except DOMAIN_ERRORS as exc:
                self.message_user(request, error_text(exc), messages.ERROR)
                return
        self.message_user(
            request,
            f"{queryset.count()} calendar address(es) reset: the old ones answer 404 from now on.",
            messages.SUCCESS,
        )

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("mine/", self.admin_site.admin_view(self.my_calendar_view), name="{}_{}_mine".format(*info)),
            *super().get_urls(),
        ]

    def my_calendar_view(self, request):
        """The signed-in user's own feed: its address (issued on the first visit) and a button that resets
        it. Always the viewer's own; nobody reaches another person's here."""
        url = reverse(f"{self.admin_site.name}:escalation_calendarfeed_mine")
        feed = calendars.calendar_feed_for_user(user=request.user)
        if request.method == "POST":
            try:
                calendars.calendar_feed_reset(feed=feed, user=request.user)
            except DOMAIN_ERRORS as exc:
                self.message_user(request, error_text(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    "Your calendar has a new address: subscribe to it again; the old one answers 404.",
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(url)
        now = timezone.now()
        upcoming = [
            shift for shift in selectors.user_shifts(user=request.user, now=now) if shift.ends_at > now
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Your on-call calendar",
            "feed": feed,
            "feed_address": feed_address(feed),
            "webcal_address": webcal_address(feed),
            "upcoming": upcoming[:UPCOMING_LISTED],
        }
        return render(request, self.my_calendar_template, context)
