"""Shapes of the API. Output serializers render; input serializers only parse and look up what the JSON
names (a service by slug, a user by username, an incident or problem by number). The rules (required
inputs of a transition, who may do what, SLA arithmetic) are the services' and come back as 400/403/409
through `incidents.api.errors`."""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents import selectors, services
from incidents.choices import (
    AlertAction,
    AlertStatus,
    Category,
    ClosedBy,
    HoldReason,
    IncidentType,
    Level,
    ResolutionCode,
    Severity,
    Source,
    State,
    Visibility,
)
from incidents.models import (
    Alert,
    ChecklistItem,
    Incident,
    IncidentAlert,
    Problem,
    Service,
    SlaPolicy,
    TimelineEvent,
)

User = get_user_model()
USERNAME = User.USERNAME_FIELD

READ_ONLY_MESSAGE = "Read-only: this field changes only through the incident's transitions."


# --- errors (for the schema; the bodies are built by incidents.api.errors) ------------------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": {}},
        ]
    }
)
class FieldErrorsField(serializers.JSONField):
    """A field's messages, or, for nested input (a list of steps, an object), its errors nested alike:
    `{"steps": {"0": {"level": ["This field is required."]}}}`."""


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(
        child=FieldErrorsField(),
        required=False,
        help_text="Field name → messages (nested for nested input); only for invalid input.",
    )


class TransitionErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(help_text="transition_not_allowed")
    state = serializers.CharField()
    allowed_transitions = serializers.ListField(child=serializers.CharField())


# --- reference data -------------------------------------------------------------------------------------


class ServiceSerializer(serializers.ModelSerializer):
    owner_group = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)

    class Meta:
        model = Service
        fields = [
            "slug",
            "name",
            "description",
            "criticality",
            "owner_group",
            "in_service_since",
            "is_active",
        ]
        read_only_fields = fields


class SlaPolicySerializer(serializers.ModelSerializer):
    severity = serializers.CharField(read_only=True)
    response_target = serializers.DurationField(help_text='For example "00:15:00" or "1 00:00:00".')
    resolution_target = serializers.DurationField(help_text='For example "04:00:00" or "3 00:00:00".')

    class Meta:
        model = SlaPolicy
        fields = ["severity", "response_target", "resolution_target"]


# --- incidents ------------------------------------------------------------------------------------------


def _choice_or_blank(choices):
    """A read-only choice that may still be "" (not classified yet, never on hold, ...). Declared, because a
    ModelSerializer drops `allow_blank` from read-only fields and the schema would then forbid ""."""
    return serializers.ChoiceField(choices=choices.choices, allow_blank=True, read_only=True)


def _key_or_null(slug_field: str):
    """A related row by its human key, or null when there is none."""
    return serializers.SlugRelatedField(slug_field=slug_field, read_only=True, allow_null=True)


class AlertSerializer(serializers.ModelSerializer):
    """One alert of the group behind an incident."""

    class Meta:
        model = Alert
        fields = [
            "fingerprint",
            "title",
            "status",
            "occurrences",
            "first_seen_at",
            "last_seen_at",
            "recovered_at",
            "labels",
            "annotations",
            "generator_url",
        ]
        read_only_fields = fields


# The incident's detail lists this many of its alerts (a group may hold thousands); `alert_count` says all.
LISTED_ALERTS = 100


class IncidentAlertSerializer(serializers.ModelSerializer):
    """What monitoring reported about an incident it raised: the group of alerts behind it."""

    source = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Alert source slug.")
    group_key = serializers.CharField(
        source="key", read_only=True, help_text="What the alerts share: the groupKey or the fingerprint."
    )
    is_open = serializers.BooleanField(source="incident.is_open", read_only=True)
    recurrence_of = serializers.SlugRelatedField(
        slug_field="number",
        read_only=True,
        allow_null=True,
        help_text="The earlier incident of the same alerts this one is a recurrence of.",
    )
    alerts = serializers.SerializerMethodField(
        help_text=f"The group's first {LISTED_ALERTS} alerts, in the incident's detail only (null in lists)."
    )

    class Meta:
        model = IncidentAlert
        fields = [
            "source",
            "grouping",
            "group_key",
            "fingerprint",
            "status",
            "is_open",
            "is_current",
            "recurrence_of",
            "occurrences",
            "alert_count",
            "truncated_alerts",
            "first_seen_at",
            "last_seen_at",
            "recovered_at",
            "labels",
            "annotations",
            "generator_url",
            "alerts",
        ]
        read_only_fields = fields

    def to_representation(self, group):
        data = super().to_representation(group)
        if group.recurrence_of_id and not may_name(self.context, group.recurrence_of):
            data["recurrence_of"] = None  # an earlier incident the reader may not see is not named
        return data

    @extend_schema_field(AlertSerializer(many=True, allow_null=True))
    def get_alerts(self, group: IncidentAlert):
        view = self.context.get("view")
        if getattr(view, "action", None) != "retrieve":
            return None
        return AlertSerializer(group.alerts.order_by("pk")[:LISTED_ALERTS], many=True).data


class IncidentSerializer(serializers.ModelSerializer):
    """An incident as the API names it; related rows by their human keys."""

    service = _key_or_null("slug")
    assignee = _key_or_null(USERNAME)
    reporter = _key_or_null(USERNAME)
    caller = _key_or_null(USERNAME)
    # "" when the caller has an account or nobody is named: not an e-mail address, so no "email" format.
    caller_email = serializers.CharField(
        read_only=True, help_text="A caller without an account: their e-mail address; else empty."
    )
    problem = _key_or_null("number")
    parent = _key_or_null("number")
    closed_by = _choice_or_blank(ClosedBy)
    category = _choice_or_blank(Category)
    incident_type = _choice_or_blank(IncidentType)
    urgency = _choice_or_blank(Level)
    impact = _choice_or_blank(Level)
    severity = _choice_or_blank(Severity)
    on_hold_reason = _choice_or_blank(HoldReason)
    resolution_code = _choice_or_blank(ResolutionCode)
    response_breached = serializers.BooleanField(read_only=True)
    resolution_breached = serializers.BooleanField(read_only=True)
    alert = IncidentAlertSerializer(
        read_only=True, allow_null=True, help_text="Set when monitoring raised the incident (see Detection)."
    )

    class Meta:
        model = Incident
        fields = [
            "number",
            "title",
            "description",
            "service",
            "category",
            "incident_type",
            "source",
            "urgency",
            "impact",
            "severity",
            "severity_provisional",
            "state",
            "tier",
            "assignee",
            "reporter",
            "caller",
            "caller_name",
            "caller_email",
            "is_major",
            "detected_at",
            "created_at",
            "first_response_at",
            "response_due_at",
            "resolution_due_at",
            "on_hold_reason",
            "on_hold_seconds",
            "resolved_at",
            "closed_at",
            "reopen_count",
            "resolution_code",
            "resolution_notes",
            "diagnosis",
            "root_cause",
            "workaround",
            "closure_notes",
            "closed_by",
            "problem",
            "change_ref",
            "parent",
            "response_breached",
            "resolution_breached",
            "alert",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.parent_id and not may_name(self.context, instance.parent):
            data["parent"] = None  # a parent the reader may not see is not named
        return data


def may_name(context: dict, incident) -> bool:
    """Whether a representation rendered in `context` may name `incident` (a parent, an earlier incident)."""
    request = context.get("request")
    if request is None:  # a machine reader (webhook payloads): never a security incident
        return not selectors.is_security_incident(incident)
    return selectors.may_see(request.user, incident)


class KeyRelatedField(serializers.SlugRelatedField):
    """A related row named by its key (slug, username, number). A key with a NUL character names nothing,
    and PostgreSQL refuses one in a query: a field error before the lookup, like DRF's text fields give."""

    default_error_messages = {"null_characters": "Null characters are not allowed."}

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("null_characters")
        return super().to_internal_value(data)


def _service_field(**kwargs):
    kwargs.setdefault("help_text", "Service slug.")
    return KeyRelatedField(slug_field="slug", queryset=Service.objects.all(), **kwargs)


def _user_field(**kwargs):
    kwargs.setdefault("help_text", "Username.")
    return KeyRelatedField(slug_field=USERNAME, queryset=User.objects.all(), **kwargs)


class RefuseOtherFieldsMixin:
    """Anything in the body beyond the serializer's fields is a field error ("Read-only" for a field the
    incident shows, "Unknown field" otherwise), never silently dropped."""

    def to_internal_value(self, data):
        extra = {}
        if isinstance(data, Mapping):
            for name in set(data) - set(self.fields):
                readonly = name in IncidentSerializer.Meta.fields
                extra[name] = [READ_ONLY_MESSAGE if readonly else "Unknown field."]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**exc.detail, **extra}) from exc
        if extra:
            raise serializers.ValidationError(extra)
        return value


class IncidentCreateSerializer(RefuseOtherFieldsMixin, serializers.Serializer):
    """Log an incident; with a category (and urgency and impact) it is classified in the same call."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    service = _service_field(required=False, allow_null=True, default=None)
    incident_type = serializers.ChoiceField(
        choices=IncidentType.choices,
        required=False,
        allow_blank=True,
        help_text="Leave out (or blank) when not known yet: classification makes it its category's other.",
    )
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    detected_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When the fault was noticed; defaults to now."
    )
    urgency = serializers.ChoiceField(
        choices=Level.choices,
        required=False,
        allow_blank=True,
        help_text="How soon it must be fixed, as the caller sees it. With impact, it sets the provisional "
        "severity until classification; without both, the configured default (S3) applies.",
    )
    impact = serializers.ChoiceField(
        choices=Level.choices,
        required=False,
        allow_blank=True,
        help_text="How much is affected, as the caller sees it (give urgency too).",
    )
    category = serializers.ChoiceField(
        choices=Category.choices,
        required=False,
        allow_blank=True,
        help_text="Classify in the same call (Service Desk, Incident Managers): give urgency and impact too.",
    )
    caller = _user_field(
        required=False,
        allow_null=True,
        default=None,
        help_text="The person affected, by username (you, when you log your own incident and name nobody).",
    )
    caller_name = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="A caller without an account: their name."
    )
    caller_email = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="A caller without an account: their e-mail address (an account's address names that account).",
    )


class IncidentUpdateSerializer(RefuseOtherFieldsMixin, serializers.Serializer):
    """The descriptive fields of `services.EDITABLE_FIELDS`; anything else in the body is a field error."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True)
    service = _service_field(allow_null=True)
    incident_type = serializers.ChoiceField(
        choices=IncidentType.choices,
        allow_blank=True,
        help_text="One of the category's types once classified.",
    )
    source = serializers.ChoiceField(choices=Source.choices)
    detected_at = serializers.DateTimeField()
    diagnosis = serializers.CharField(allow_blank=True, help_text="What the investigation found.")
    root_cause = serializers.CharField(allow_blank=True, help_text="Why it happened.")
    workaround = serializers.CharField(allow_blank=True, help_text="How users get by until the fix.")
    assignee = _user_field(allow_null=True)
    problem = KeyRelatedField(
        slug_field="number", queryset=Problem.objects.all(), allow_null=True, help_text="Problem number."
    )
    change_ref = serializers.CharField(max_length=64, allow_blank=True)
    caller = _user_field(allow_null=True, help_text="The person affected, by username.")
    caller_name = serializers.CharField(
        allow_blank=True, help_text="A caller without an account: their name."
    )
    caller_email = serializers.CharField(
        allow_blank=True, help_text="A caller without an account: their e-mail address."
    )
    parent = KeyRelatedField(
        slug_field="number",
        queryset=Incident.objects.all(),
        allow_null=True,
        help_text="Number of the incident this one duplicates or belongs to.",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            # A parent the user may not see is "not found", like everywhere else.
            self.fields["parent"].queryset = selectors.visible_incidents(user)


# --- transitions: inputs --------------------------------------------------------------------------------


class ClassifyInputSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Category.choices)
    urgency = serializers.ChoiceField(choices=Level.choices)
    impact = serializers.ChoiceField(choices=Level.choices)
    service = _service_field(required=False, allow_null=True)
    incident_type = serializers.ChoiceField(
        choices=IncidentType.choices,
        required=False,
        allow_blank=True,
        help_text="A type of the category (a mismatch is a 400); left out, the logged one, or the category's other.",
    )
    severity = serializers.ChoiceField(
        choices=Severity.choices,
        required=False,
        help_text="Overrides the urgency x impact matrix (Incident Managers, with severity_reason).",
    )
    severity_reason = serializers.CharField(required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True)


class InvestigateInputSerializer(serializers.Serializer):
    assignee = _user_field(required=False, help_text="Username; defaults to the caller.")
    note = serializers.CharField(required=False, allow_blank=True)


class HoldInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=HoldReason.choices)
    note = serializers.CharField()


class ResumeInputSerializer(serializers.Serializer):
    note = serializers.CharField()


class ResolveInputSerializer(serializers.Serializer):
    resolution_code = serializers.ChoiceField(choices=ResolutionCode.choices, source="code")
    resolution_notes = serializers.CharField(source="notes")
    diagnosis = serializers.CharField(
        required=False, allow_blank=True, help_text="Required for S1 and S2 unless the incident has one."
    )
    root_cause = serializers.CharField(
        required=False, allow_blank=True, help_text="Required for S1 and S2 unless the incident has one."
    )
    workaround = serializers.CharField(required=False, allow_blank=True)


class CloseInputSerializer(serializers.Serializer):
    closure_notes = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The final documentation: required from staff; the caller confirming the fix needs none.",
    )
    note = serializers.CharField(required=False, allow_blank=True)


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField()


TRANSITION_INPUTS: dict[str, type[serializers.Serializer]] = {
    "classify": ClassifyInputSerializer,
    "investigate": InvestigateInputSerializer,
    "hold": HoldInputSerializer,
    "resume": ResumeInputSerializer,
    "resolve": ResolveInputSerializer,
    "close": CloseInputSerializer,
    "reopen": ReasonInputSerializer,
    "cancel": ReasonInputSerializer,
}
assert set(TRANSITION_INPUTS) == set(services.TRANSITIONS)


# --- transitions: what a user may do now ----------------------------------------------------------------


class TransitionInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    required = serializers.BooleanField()
    choices = serializers.ListField(child=serializers.CharField(), allow_null=True)


class TransitionOptionSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    target = serializers.ChoiceField(choices=State.choices, help_text="The state the transition leads to.")
    inputs = TransitionInputSerializer(many=True)


def transition_inputs(name: str) -> list[dict]:
    """The JSON inputs a transition takes, read off its input serializer."""
    return [
        {
            "name": field_name,
            "required": field.required,
            "choices": list(field.choices) if isinstance(field, serializers.ChoiceField) else None,
        }
        for field_name, field in TRANSITION_INPUTS[name]().fields.items()
    ]


# --- work on an incident --------------------------------------------------------------------------------


class TimelineEventSerializer(serializers.ModelSerializer):
    actor = _key_or_null(USERNAME)
    from_state = _choice_or_blank(State)
    to_state = _choice_or_blank(State)

    class Meta:
        model = TimelineEvent
        fields = [
            "id",
            "kind",
            "created_at",
            "actor",
            "from_state",
            "to_state",
            "transition",
            "note",
            "visibility",
            "data",
        ]
        read_only_fields = fields

    def to_representation(self, event):
        """A reader of public entries only (a reporter, a caller, a vendor) gets no message recipients:
        other people's addresses are not theirs to read (`selectors.STAFF_ONLY_EVENT_DATA`)."""
        representation = super().to_representation(event)
        request = self.context.get("request")
        if not selectors.can_see_internal(getattr(request, "user", None)):
            representation["data"] = {
                key: value
                for key, value in (representation["data"] or {}).items()
                if key not in selectors.STAFF_ONLY_EVENT_DATA
            }
        return representation


class CommentInputSerializer(serializers.Serializer):
    body = serializers.CharField()
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.INTERNAL)


class ChecklistItemSerializer(serializers.ModelSerializer):
    done_by = _key_or_null(USERNAME)
    done = serializers.SerializerMethodField()
    skipped_by = _key_or_null(USERNAME)
    skipped = serializers.SerializerMethodField()

    class Meta:
        model = ChecklistItem
        fields = [
            "id",
            "order",
            "text",
            "required",
            "done",
            "done_at",
            "done_by",
            "skipped",
            "skipped_at",
            "skipped_by",
            "skip_reason",
        ]
        read_only_fields = fields

    def get_done(self, item) -> bool:
        return item.done_at is not None

    def get_skipped(self, item) -> bool:
        return item.skipped_at is not None


class ChecklistSkipInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        help_text="Why the step does not apply; kept on the step and the timeline."
    )


class HistoryChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class HistoryRecordSerializer(serializers.Serializer):
    history_id = serializers.IntegerField()
    history_date = serializers.DateTimeField()
    type = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    user = serializers.CharField(allow_null=True)
    change_reason = serializers.CharField(allow_blank=True)
    changes = HistoryChangeSerializer(many=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


# --- monitoring alert intake ----------------------------------------------------------------------------
# Request shapes for the schema only: `incidents.alert_formats` parses the raw body, so that a malformed one
# can be stored as rejected with every problem named.


def _label_map(**kwargs):
    return serializers.DictField(child=serializers.CharField(allow_blank=True), **kwargs)


class AlertmanagerAlertSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    labels = _label_map(help_text="Identify the alert; `service` and `severity` drive classification.")
    annotations = _label_map(required=False, help_text="`summary` and `description` become the incident's.")
    startsAt = serializers.DateTimeField(required=False, help_text="Becomes the incident's detected_at.")
    endsAt = serializers.DateTimeField(required=False)
    generatorURL = serializers.URLField(required=False, allow_blank=True, max_length=2000)
    fingerprint = serializers.CharField(
        required=False, max_length=255, help_text="Deduplication key; derived from the labels when absent."
    )


class AlertmanagerWebhookSerializer(serializers.Serializer):
    """Prometheus Alertmanager's webhook body, version 4."""

    version = serializers.CharField(required=False, help_text='"4" (the only version taken).')
    groupKey = serializers.CharField(required=False)
    truncatedAlerts = serializers.IntegerField(required=False, min_value=0)
    status = serializers.ChoiceField(choices=AlertStatus.choices, required=False)
    receiver = serializers.CharField(required=False)
    groupLabels = _label_map(required=False)
    commonLabels = _label_map(required=False)
    commonAnnotations = _label_map(required=False)
    externalURL = serializers.CharField(required=False)
    alerts = AlertmanagerAlertSerializer(many=True, allow_empty=False)


class GenericAlertSerializer(serializers.Serializer):
    """One alert from any tool that can POST JSON."""

    title = serializers.CharField(
        required=False, help_text="Required when firing (or when resolving without a fingerprint)."
    )
    status = serializers.ChoiceField(choices=AlertStatus.choices, default=AlertStatus.FIRING)
    fingerprint = serializers.CharField(
        required=False,
        max_length=255,
        help_text="Deduplication key; derived from source, title and labels when absent.",
    )
    description = serializers.CharField(required=False, allow_blank=True)
    source = serializers.CharField(
        required=False, max_length=100, help_text="The sending tool's name, kept as the label `source`."
    )
    service = serializers.CharField(
        required=False, max_length=120, help_text="Service slug; else the source's service label or default."
    )
    severity = serializers.CharField(
        required=False, max_length=100, help_text="Looked up in the source's severity map."
    )
    urgency = serializers.ChoiceField(
        choices=Level.choices, required=False, help_text="With impact, instead of severity."
    )
    impact = serializers.ChoiceField(choices=Level.choices, required=False)
    labels = _label_map(required=False)
    annotations = _label_map(required=False)
    starts_at = serializers.DateTimeField(required=False, help_text="Becomes the incident's detected_at.")
    generator_url = serializers.URLField(required=False, allow_blank=True, max_length=2000)


class AlertOutcomeSerializer(serializers.Serializer):
    fingerprint = serializers.CharField()
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    action = serializers.ChoiceField(choices=AlertAction.choices)
    incident = serializers.CharField(allow_null=True, help_text="Number of the incident touched.")
    count = serializers.IntegerField(help_text="Identical alerts of the delivery this outcome covers.")


class AlertIntakeResultSerializer(serializers.Serializer):
    payload = serializers.IntegerField(source="payload_id", help_text="The stored payload (kept 30 days).")
    alerts = serializers.IntegerField(help_text="Alerts in the delivery.")
    incidents = serializers.ListField(
        child=serializers.CharField(), help_text="Numbers of incidents touched."
    )
    results = AlertOutcomeSerializer(source="outcomes", many=True)
