"""Monitoring integrations: alert sources with their tokens, the payloads they posted (read-only, purged
after 30 days), and the alert panel of an incident raised by monitoring.

A token is shown once, when it is issued (on creation, or with "Issue a new token"): only its hash is
stored. Sources are revoked by clearing "active", never deleted: their incidents keep pointing at them.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from .. import alerts, selectors
from ..api.alerts import ENDPOINT_NAMES
from ..choices import AlertStatus, PayloadStatus
from ..models import AlertPayload, AlertSource, IncidentAlert
from .base import AuditedAdmin, badge


@admin.register(AlertSource)
class AlertSourceAdmin(AuditedAdmin):
    list_display = (
        "name",
        "slug",
        "kind",
        "is_active",
        "grouping",
        "auto_resolve",
        "default_service",
        "token_display",
    )
    list_filter = ("kind", "is_active", "grouping", "auto_resolve")
    search_fields = ("name", "slug")
    list_select_related = ("default_service",)
    prepopulated_fields = {"slug": ("name",)}
    change_form_template = "admin/incidents/alertsource/change_form.html"
    token_template = "admin/incidents/alertsource/token.html"
    fieldsets = (
        (None, {"fields": ("name", "slug", ("kind", "endpoint"), "is_active")}),
        ("Token", {"fields": ("token_display", "account")}),
        (
            "Classification of new incidents",
            {
                "fields": (
                    ("default_service", "default_category", "default_incident_type"),
                    ("service_label", "severity_label"),
                    "severity_map",
                    ("default_urgency", "default_impact"),
                )
            },
        ),
        ("Correlation", {"fields": ("grouping", "reopen_window", "reopen_when_still_firing")}),
        ("Recovery", {"fields": ("auto_resolve",)}),
    )
    readonly_fields = ("endpoint", "token_display", "account")

    def has_delete_permission(self, request, obj=None):
        return False  # revoke by clearing "active": its incidents keep pointing at it

    @admin.display(description="token")
    def token_display(self, source):
        return f"{source.token_hint}…" if source.token_hint else "none issued yet"

    @admin.display(description="posts to")
    def endpoint(self, source):
        return reverse(ENDPOINT_NAMES[source.kind]) if source.kind in ENDPOINT_NAMES else "-"

    # --- the token is shown once: on creation and when a new one is issued -------------------------------

    def save_model(self, request, obj, form, change):
        if not change:
            request.issued_alert_token = obj.issue_token()
        super().save_model(request, obj, form, change)
        alerts.alert_source_account(source=obj)

    def response_add(self, request, obj, post_url_continue=None):
        token = getattr(request, "issued_alert_token", None)
        if token is None:
            return super().response_add(request, obj, post_url_continue)
        return self._token_page(request, obj, token)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/token/",
                self.admin_site.admin_view(self.token_view),
                name="{}_{}_token".format(*info),
            ),
            *super().get_urls(),
        ]

    def token_view(self, request, object_id):
        """GET asks for confirmation; POST issues a new token (the old one stops working) and shows it."""
        source = self.get_object(request, unquote(object_id))
        if source is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, source):
            raise DjangoPermissionDenied
        if request.method == "POST":
            token = alerts.alert_source_issue_token(source=source, user=request.user)
            return self._token_page(request, source, token)
        return self._token_page(request, source, None)

    def _token_page(self, request, source, token):
        context = {
            **self.admin_site.each_context(request),
            "title": f"Token of {source}" if token else f"Issue a new token for {source}?",
            "opts": self.opts,
            "original": source,
            "token": token,
            "endpoint": request.build_absolute_uri(self.endpoint(source)),
            "change_url": reverse(
                f"{self.admin_site.name}:incidents_alertsource_change", args=[quote(source.pk)]
            ),
        }
        return TemplateResponse(request, self.token_template, context)


@admin.register(AlertPayload)
class AlertPayloadAdmin(admin.ModelAdmin):
    """What monitoring posted, for debugging an integration. Read-only; the daily purge deletes rows older
    than 30 days."""

    list_display = ("received_at", "source", "status_display", "size", "error_summary", "incident_links")
    list_filter = ("status", "source")
    list_select_related = ("source",)
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-pk")
    show_full_result_count = False
    fields = (
        "received_at",
        "source",
        "status",
        "size",
        "remote_addr",
        "error",
        "incident_links",
        "pretty_body",
    )
    readonly_fields = fields

    class Media:
        css = {"all": ("incidents/admin.css",)}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("incidents")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="status", ordering="status")
    def status_display(self, payload):
        return badge(
            payload.get_status_display(),
            "sla-ok" if payload.status == PayloadStatus.ACCEPTED else "sla-breach",
        )

    @admin.display(description="error")
    def error_summary(self, payload):
        first = payload.error.splitlines()[0] if payload.error else ""
        return first if len(first) <= 80 else first[:79] + "…"

    @admin.display(description="incidents")
    def incident_links(self, payload):
        incidents = list(payload.incidents.all())
        if not incidents:
            return "-"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:incidents_incident_change", args=[quote(i.pk)]), i.number) for i in incidents),
        )

    @admin.display(description="body")
    def pretty_body(self, payload):
        try:
            text = json.dumps(json.loads(payload.body), indent=2, ensure_ascii=False)
        except ValueError:
            text = payload.body
        return format_html('<pre class="itsm-payload">{}</pre>', text or "(empty)")


# --- the incident page: its alert ------------------------------------------------------------------------

ALERT_FIELDSET = (
    "Monitoring alerts",
    {
        "fields": (
            ("alert_source", "alert_fingerprint"),
            ("alert_status", "alert_occurrences"),
            "alert_recurrence",
            "alert_list",
            "alert_labels",
            "alert_annotations",
            "alert_link",
        )
    },
)
ALERT_FIELDS = (
    "alert_source",
    "alert_fingerprint",
    "alert_status",
    "alert_occurrences",
    "alert_recurrence",
    "alert_list",
    "alert_labels",
    "alert_annotations",
    "alert_link",
)
# The incident page lists this many of its group's alerts; the count says how many there are.
LISTED_ALERTS = 100


def alert_fieldset(user, incident):
    """The alert fieldset, without the earlier incident this one recurs when `user` may not see that one."""
    previous = alert_of(incident).recurrence_of
    if previous is None or selectors.may_see(user, previous):
        return ALERT_FIELDSET
    name, options = ALERT_FIELDSET
    return name, {**options, "fields": tuple(f for f in options["fields"] if f != "alert_recurrence")}


def alert_of(incident) -> IncidentAlert | None:
    try:
        return incident.alert
    except IncidentAlert.DoesNotExist:
        return None


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else "-"


class IncidentAlertFieldsMixin:
    """Read-only fields showing the alert behind an incident raised by monitoring (`ALERT_FIELDSET`)."""

    @admin.display(description="alert source")
    def alert_source(self, incident):
        return alert_of(incident).source

    @admin.display(description="grouped by")
    def alert_fingerprint(self, incident):
        group = alert_of(incident)
        return format_html("{} <code>{}</code>", group.get_grouping_display(), group.key)

    @admin.display(description="alert status")
    def alert_status(self, incident):
        alert = alert_of(incident)
        if alert.recovered_at and alert.status == AlertStatus.RESOLVED:
            return f"{alert.get_status_display()} (recovery reported {_when(alert.recovered_at)})"
        return alert.get_status_display()

    @admin.display(description="occurrences")
    def alert_occurrences(self, incident):
        alert = alert_of(incident)
        return (
            f"{alert.occurrences} reports of {alert.alert_count} alert{'s' if alert.alert_count != 1 else ''} "
            f"(first {_when(alert.first_seen_at)}, last {_when(alert.last_seen_at)})"
        )

    @admin.display(description="recurrence of")
    def alert_recurrence(self, incident):
        previous = alert_of(incident).recurrence_of
        if previous is None:
            return "-"
        url = reverse("admin:incidents_incident_change", args=[quote(previous.pk)])
        return format_html('<a href="{}">{}</a>', url, previous.number)

    @admin.display(description="alerts")
    def alert_list(self, incident):
        group = alert_of(incident)
        rows = format_html_join(
            "",
            "<tr><td>{}<br><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    alert.title,
                    alert.fingerprint,
                    alert.get_status_display(),
                    _pairs(alert.labels),
                    _when(alert.first_seen_at),
                    _when(alert.last_seen_at),
                    alert.occurrences,
                )
                for alert in group.alerts.order_by("pk")[:LISTED_ALERTS]
            ),
        )
        more = group.alert_count - LISTED_ALERTS
        return format_html(
            '<table class="itsm-alerts"><thead><tr><th>alert</th><th>status</th><th>labels</th>'
            "<th>first seen</th><th>last seen</th><th>count</th></tr></thead><tbody>{}</tbody></table>{}",
            rows,
            f"and {more} more" if more > 0 else "",
        )

    @admin.display(description="labels")
    def alert_labels(self, incident):
        return _pairs(alert_of(incident).labels)

    @admin.display(description="annotations")
    def alert_annotations(self, incident):
        return _pairs(alert_of(incident).annotations)

    @admin.display(description="source graph")
    def alert_link(self, incident):
        url = alert_of(incident).generator_url
        if not url:
            return "-"
        return format_html('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', url, url)


def _pairs(mapping: dict):
    if not mapping:
        return "-"
    return format_html(
        '<ul class="itsm-links">{}</ul>',
        format_html_join("", "<li><code>{}</code>: {}</li>", sorted(mapping.items())),
    )
