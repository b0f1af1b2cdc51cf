"""Query parameters of the reporting API (parsed and validated here; a bad value is a 400 with a field error
through `incidents.api.errors`) and the shapes of its answers, for the OpenAPI schema."""

from __future__ import annotations

from rest_framework import serializers

from reporting.kpi_definitions import KPI_DEFINITIONS
from reporting.periods import day_range, parse_month

DEFINED = {d.key: d.text for d in KPI_DEFINITIONS}


class KpiQuerySerializer(serializers.Serializer):
    start = serializers.DateField(
        help_text="First day, YYYY-MM-DD (local midnight in the server's TIME_ZONE)."
    )
    end = serializers.DateField(help_text="Day after the last, YYYY-MM-DD: the end is exclusive.")

    def validate(self, attrs):
        try:
            attrs["period"] = day_range(attrs["start"], attrs["end"])
        except ValueError as exc:
            raise serializers.ValidationError({"end": [str(exc)]}) from exc
        return attrs


class MonthQuerySerializer(serializers.Serializer):
    month = serializers.CharField(help_text="A calendar month, YYYY-MM.")

    def validate_month(self, value):
        try:
            return parse_month(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


def _per_severity(child, help_text: str):
    return serializers.DictField(
        child=child, help_text=help_text + " Keys S1, S2, S3, S4 and all; null without data."
    )


class CountSerializer(serializers.Serializer):
    all = serializers.IntegerField()
    by_severity = serializers.DictField(child=serializers.IntegerField())
    by_category = serializers.DictField(child=serializers.IntegerField())


class KpiSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    mttr_seconds = _per_severity(
        serializers.IntegerField(allow_null=True), "Mean time to resolve. " + DEFINED["mttr_seconds"]
    )
    first_response_seconds = _per_severity(
        serializers.IntegerField(allow_null=True), "Mean first response. " + DEFINED["first_response_seconds"]
    )
    first_response_p90_seconds = _per_severity(
        serializers.IntegerField(allow_null=True), "90th percentile (nearest rank) of first response."
    )
    reopen_rate = serializers.FloatField(allow_null=True, help_text=DEFINED["reopen_rate"])
    sla_compliance = serializers.FloatField(allow_null=True, help_text=DEFINED["sla_compliance"])
    response_sla_compliance = serializers.FloatField(
        allow_null=True, help_text=DEFINED["response_sla_compliance"]
    )
    self_healed_sla_compliance = serializers.FloatField(
        allow_null=True,
        help_text="SLA compliance of the self-healed incidents alone. " + DEFINED["self_healed"],
    )
    counts = serializers.DictField(
        child=CountSerializer(),
        help_text="created, resolved, closed, self_healed (resolved in the period), open_at_end.",
    )
    targets = serializers.DictField(help_text="Per KPI: target, rule (< or >) and met (null without data).")


class IncidentCountsSerializer(serializers.Serializer):
    S1 = serializers.IntegerField()
    S2 = serializers.IntegerField()
    S3 = serializers.IntegerField()
    S4 = serializers.IntegerField()
    unclassified = serializers.IntegerField()
    total = serializers.IntegerField()


class HeadlineSerializer(serializers.Serializer):
    incidents = IncidentCountsSerializer()
    outage_minutes = serializers.FloatField()
    degraded_minutes = serializers.FloatField()
    availability = serializers.FloatField(allow_null=True)
    mttr_seconds = serializers.IntegerField(allow_null=True)
    sla_compliance = serializers.FloatField(allow_null=True)
    reopen_rate = serializers.FloatField(allow_null=True)
    resolved = serializers.IntegerField()
    self_healed = serializers.IntegerField(help_text=DEFINED["self_healed"])
    self_healed_sla_compliance = serializers.FloatField(allow_null=True)


class ServiceImpactRowSerializer(HeadlineSerializer):
    service = serializers.CharField(allow_null=True, help_text="Slug; null for incidents with no service.")
    name = serializers.CharField()


class TrendSerializer(HeadlineSerializer):
    month = serializers.CharField()


class RecommendationSerializer(serializers.Serializer):
    rule = serializers.CharField()
    action = serializers.CharField()
    service = serializers.CharField(allow_null=True)
    severity = serializers.CharField(allow_null=True)
    incident_type = serializers.CharField(allow_null=True)
    explanation = serializers.CharField()


class ServiceImpactSerializer(serializers.Serializer):
    month = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    time_zone = serializers.CharField()
    generated_at = serializers.DateTimeField()
    services = ServiceImpactRowSerializer(many=True)
    totals = HeadlineSerializer()
    trend = TrendSerializer(many=True, help_text="The 5 months before and this one, oldest first.")
    recommendations = RecommendationSerializer(many=True)
