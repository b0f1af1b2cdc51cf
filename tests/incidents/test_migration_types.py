"""Migration 0011 brings existing data to the types of seed 2.2: old values renamed, "other" to the other of
the incident's category, alert sources kept within their category, plans following their type (an
administrator's general plan serving each category), and required steps marked."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = ("incidents", "0010_process_caller_investigation_closure")
AFTER = ("incidents", "0011_incident_types_by_category")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate([target] if isinstance(target, tuple) else target)
    return executor.loader.project_state([target] if isinstance(target, tuple) else target).apps


@pytest.mark.django_db(transaction=True)
def test_existing_incidents_sources_and_plans_take_the_new_types():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE)
        Incident = old.get_model("incidents", "Incident")
        AlertSource = old.get_model("incidents", "AlertSource")
        ResponsePlan = old.get_model("incidents", "ResponsePlan")
        # Undoing 0011 put the old plans back (a fresh database seeded the new ones at 0002).
        assert {"security_breach", "sdr_feed_failure", "other"} <= set(
            ResponsePlan.objects.values_list("incident_type", flat=True)
        )
        assert not ResponsePlan.objects.filter(incident_type__in=["malware", "feed_issue"]).exists()
        general = ResponsePlan.objects.get(incident_type="other")
        general.title = "Our own triage"  # an administrator's edit
        general.save()

        now = timezone.now()
        rows = {
            "INC-000901": ("security_breach", "security"),
            "INC-000902": ("sdr_feed_failure", ""),
            "INC-000903": ("other", "application"),
            "INC-000904": ("other", ""),
            "INC-000905": ("host_failure", "infrastructure"),
        }
        for number, (incident_type, category) in rows.items():
            Incident.objects.create(
                number=number,
                title=number,
                incident_type=incident_type,
                category=category,
                detected_at=now,
                created_at=now,
            )
        for slug, category, incident_type in (
            ("a", "observatory", "other"),
            ("b", "observatory", "network_outage"),
            ("c", "security", "security_breach"),
        ):
            AlertSource.objects.create(
                name=slug,
                slug=slug,
                token_hash=slug * 64,
                default_category=category,
                default_incident_type=incident_type,
            )

        new = migrate(AFTER)
        Incident = new.get_model("incidents", "Incident")
        AlertSource = new.get_model("incidents", "AlertSource")
        ResponsePlan = new.get_model("incidents", "ResponsePlan")
        assert dict(Incident.objects.values_list("number", "incident_type")) == {
            "INC-000901": "unauthorized_access",
            "INC-000902": "sdr_failure",
            "INC-000903": "application_other",
            "INC-000904": "",
            "INC-000905": "host_failure",
        }
        assert dict(AlertSource.objects.values_list("slug", "default_incident_type")) == {
            "a": "observatory_other",
            "b": "observatory_other",
            "c": "unauthorized_access",
        }
        plans = dict(ResponsePlan.objects.values_list("incident_type", "title"))
        assert "other" not in plans and "security_breach" not in plans
        assert plans["unauthorized_access"] == "Unauthorized access response"
        assert plans["malware"] == "Malware response"
        assert {plans[t] for t in ("infrastructure_other", "application_other", "observatory_other")} == {
            "Our own triage"
        }
        assert plans["security_other"] == "Security incident response"  # evidence first, as seeded
        Step = new.get_model("incidents", "ResponsePlanStep")
        required = set(Step.objects.filter(required=True).values_list("plan__incident_type", flat=True))
        assert required == {"host_failure", "unauthorized_access", "malware", "security_other"}
    finally:
        MigrationExecutor(connection).migrate(leaves)
