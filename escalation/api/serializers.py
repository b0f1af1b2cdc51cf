"""Shapes of the escalation API. Input serializers parse and look up what the JSON names (a group by name);
the rules (percent or offset, at least one target, who may do what, which tier comes next) are the
services' and come back as 400/403/409 through `incidents.api.errors`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.api.serializers import KeyRelatedField
from incidents.choices import Tier

from ..choices import Clock, EventKind, Level, OnCallTarget, RotationKind
from ..models import EscalationEvent
from ..services.policies import MAX_STEPS, steps_count_errors

User = get_user_model()
USERNAME = User.USERNAME_FIELD
MAX_ORDER = 32767  # EscalationStep.order is a PositiveSmallIntegerField
ON_CALL_HORIZON = timedelta(days=100 * 365)


# --- policies -------------------------------------------------------------------------------------------


class EscalationStepSerializer(serializers.Serializer):
    """One step, read and written: when it fires (a percentage of its clock's target, or an offset after
    logging), at which level, and whom it notifies."""

    order = serializers.IntegerField(
        min_value=0,
        max_value=MAX_ORDER,
        required=False,
        help_text="Position in the policy; defaults to the position in the list.",
    )
    clock = serializers.ChoiceField(choices=Clock.choices)
    percent = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Fire at this percentage of the clock's target.",
    )
    offset = serializers.DurationField(
        required=False,
        allow_null=True,
        default=None,
        help_text='Or: fire this long after logging, for example "00:30:00" (give percent or offset).',
    )
    level = serializers.ChoiceField(choices=Level.choices)
    notify_group = KeyRelatedField(
        slug_field="name",
        queryset=Group.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Name of a group whose members are notified.",
    )
    notify_tier_group = serializers.BooleanField(
        required=False, default=False, help_text="Notify the group of the incident's current tier."
    )
    notify_oncall = serializers.ChoiceField(
        choices=OnCallTarget.choices, required=False, allow_blank=True, default=""
    )


class EscalationPolicySerializer(serializers.Serializer):
    severity = serializers.CharField(read_only=True)
    steps = EscalationStepSerializer(many=True, read_only=True)


class EscalationPolicyUpdateSerializer(serializers.Serializer):
    steps = EscalationStepSerializer(
        many=True, help_text=f"The new steps (1 to {MAX_STEPS}); they replace the current ones."
    )

    def to_internal_value(self, data):
        # The service's count rule, applied before each step is parsed (and its group looked up): a list
        # of thousands is refused at once, with the service's message.
        steps = data.get("steps") if isinstance(data, Mapping) else None
        if isinstance(steps, list) and (messages := steps_count_errors(len(steps))):
            raise serializers.ValidationError({"steps": messages})
        return super().to_internal_value(data)


# --- on call --------------------------------------------------------------------------------------------


class OnCallQuerySerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False, help_text="ISO 8601 moment; defaults to now.")

    def validate_at(self, value):
        # Shifts around a moment at the calendar's edge (year 9999) would end past it.
        if abs(value - timezone.now()) > ON_CALL_HORIZON:
            raise serializers.ValidationError(f"Must be within {ON_CALL_HORIZON.days // 365} years of now.")
        return value


class OnCallSerializer(serializers.Serializer):
    """A rotation's person at a moment: the regular shift, or an override covering it. The e-mail address
    is for support roles and Incident Managers; for anyone else the field is left out."""

    rotation = serializers.CharField(source="rotation.name")
    kind = serializers.ChoiceField(source="rotation.kind", choices=RotationKind.choices)
    user = serializers.CharField(
        source=f"user.{USERNAME}", allow_null=True, default=None, help_text="Username."
    )
    email = serializers.EmailField(
        source="user.email",
        allow_null=True,
        default=None,
        required=False,
        help_text="Only for support roles (the tiers, Security Team) and Incident Managers.",
    )
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    is_override = serializers.BooleanField()

    def to_representation(self, instance):
        # The view decides (`include_email` in the context); without it, nobody's address goes out.
        data = super().to_representation(instance)
        if not self.context.get("include_email"):
            del data["email"]
        return data


# --- work on an incident --------------------------------------------------------------------------------


class EscalateInputSerializer(serializers.Serializer):
    reason = serializers.CharField()
    tier = serializers.ChoiceField(
        choices=Tier.choices, required=False, help_text="A higher tier; defaults to the next one up."
    )


class DeclareMajorInputSerializer(serializers.Serializer):
    reason = serializers.CharField()
    major = serializers.BooleanField(
        default=True, help_text="true declares a major incident, false clears major status."
    )


class StatusUpdateInputSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="Sent to the service's stakeholders and the caller.")


@extend_schema_field(
    {
        "type": "string",
        "pattern": f"^({'|'.join(Tier.values)})?$",
        "description": f"One of {', '.join(Tier.values)}, or empty where no tier applies.",
    }
)
class TierOrBlankField(serializers.CharField):
    """A tier or "". Described by a pattern, not an enum: drf-spectacular would give an enum of the same
    tiers a second component name (`FromTierEnum`) and warn."""


class EscalationEventSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=EventKind.choices)
    from_tier = TierOrBlankField(help_text="Functional escalations only.")
    to_tier = TierOrBlankField(help_text="Functional escalations only.")
    actor = serializers.SlugRelatedField(slug_field=USERNAME, read_only=True, allow_null=True)

    class Meta:
        model = EscalationEvent
        fields = ["kind", "key", "level", "from_tier", "to_tier", "due_at", "fired_at", "actor", "reason"]
        read_only_fields = fields
