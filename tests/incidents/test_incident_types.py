"""Incident types as the process document lists them (seed 2.2), each belonging to one category: a type of
another category is refused at classification and on edit, a blank one becomes the category's "other",
security types keep an incident confidential before classification, every type has its runbook, and the
classify form groups the types and explains the severities."""

import io

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse

from incidents import selectors, services
from incidents.choices import (
    OTHER_TYPES,
    TYPE_CATEGORY,
    Category,
    IncidentType,
    Role,
    State,
    category_of,
    current_type,
    types_of,
)
from incidents.csv_io import COLUMNS, import_incidents
from incidents.exceptions import ValidationError
from incidents.models import AlertSource, Incident, ResponsePlan
from tests.factories import incident_in, make_user

pytestmark = pytest.mark.django_db

CLASSIFY = {"urgency": "medium", "impact": "medium"}


def classify_url(incident):
    return reverse("admin:incidents_incident_transition", args=[incident.pk, "classify"])


# --- the vocabulary --------------------------------------------------------------------------------------


def test_every_type_belongs_to_exactly_one_category_as_the_document_groups_them():
    assert set(TYPE_CATEGORY) == set(IncidentType)
    assert {t: c for t, c in TYPE_CATEGORY.items() if t not in OTHER_TYPES.values()} == {
        "host_failure": "infrastructure",
        "network_outage": "infrastructure",
        "database_unavailable": "application",  # seed 2.2 lists it under Application
        "application_error": "application",
        "unauthorized_access": "security",
        "malware": "security",
        "sdr_failure": "observatory",
        "feed_issue": "observatory",
    }
    for category in Category:
        assert category_of(OTHER_TYPES[category]) == category
        assert OTHER_TYPES[category] in types_of(category)
    assert all(len(t.value) <= 32 for t in IncidentType)  # the columns' max_length
    assert category_of("") is None and category_of("no-such-type") is None


def test_old_values_read_as_todays():
    assert current_type("security_breach") == "unauthorized_access"
    assert current_type("SDR_feed_failure") == "sdr_failure"
    assert current_type("other", category="security") == "security_other"
    assert current_type("other") == ""
    assert current_type("malware") == "malware"


# --- classification --------------------------------------------------------------------------------------


def test_logging_may_leave_the_type_blank_and_classification_makes_it_the_category_other(service_desk):
    incident = services.incident_create(user=service_desk, title="Something is odd with the dish")
    assert incident.incident_type == ""
    incident = services.incident_classify(
        incident=incident, user=service_desk, category="observatory", **CLASSIFY
    )
    assert incident.incident_type == "observatory_other"
    assert incident.timeline.get(transition="classify").data["incident_type"] == "observatory_other"
    plan = ResponsePlan.objects.get(incident_type="observatory_other")
    assert list(incident.checklist.values_list("text", flat=True)) == list(
        plan.steps.values_list("text", flat=True)
    )


def test_a_type_of_another_category_is_refused_at_classification(service_desk):
    incident = services.incident_create(user=service_desk, title="Feed silent", incident_type="feed_issue")
    with pytest.raises(ValidationError) as refused:
        services.incident_classify(incident=incident, user=service_desk, category="security", **CLASSIFY)
    [message] = refused.value.message_dict["incident_type"]
    assert "Feed issue belongs to the Observatory category" in message
    assert "Unauthorized access, Malware, Other security incident" in message
    with pytest.raises(ValidationError) as given:
        services.incident_classify(
            incident=incident,
            user=service_desk,
            category="observatory",
            incident_type="host_failure",
            **CLASSIFY,
        )
    assert set(given.value.message_dict) == {"incident_type"}
    incident.refresh_from_db()
    assert (incident.state, incident.category, incident.incident_type) == (State.LOGGED, "", "feed_issue")
    assert not incident.checklist.exists()

    incident = services.incident_classify(
        incident=incident, user=service_desk, category="observatory", **CLASSIFY
    )
    assert incident.incident_type == "feed_issue"  # the logged type, of the chosen category, is kept


def test_reclassifying_into_another_category_moves_an_other_type_but_not_a_finding(manager):
    incident = incident_in("classified", manager=manager)
    assert incident.incident_type == "infrastructure_other"
    incident = services.incident_classify(incident=incident, user=manager, category="application", **CLASSIFY)
    assert incident.incident_type == "application_other"

    specific = incident_in("classified", manager=manager, incident_type="network_outage")
    with pytest.raises(ValidationError) as refused:
        services.incident_classify(incident=specific, user=manager, category="application", **CLASSIFY)
    assert set(refused.value.message_dict) == {"incident_type"}
    specific = services.incident_classify(
        incident=specific,
        user=manager,
        category="application",
        incident_type="database_unavailable",
        **CLASSIFY,
    )
    assert (specific.category, specific.incident_type) == ("application", "database_unavailable")


def test_the_api_answers_a_mismatch_with_400_on_the_type(api_as, service_desk):
    incident = incident_in("logged", incident_type="sdr_failure")
    client = api_as(service_desk)
    url = f"/api/v1/incidents/{incident.number}/classify/"
    response = client.post(url, {"category": "infrastructure", **CLASSIFY}, format="json")
    assert response.status_code == 400
    assert response.data["code"] == "invalid" and set(response.data["errors"]) == {"incident_type"}
    response = client.post(
        url, {"category": "observatory", "incident_type": "malware", **CLASSIFY}, format="json"
    )
    assert response.status_code == 400 and set(response.data["errors"]) == {"incident_type"}
    response = client.post(url, {"category": "observatory", **CLASSIFY}, format="json")
    assert response.status_code == 200
    assert response.data["incident_type"] == "sdr_failure"


def test_the_api_logs_with_a_blank_or_absent_type(api_as, service_desk):
    client = api_as(service_desk)
    absent = client.post("/api/v1/incidents/", {"title": "Odd noise"}, format="json")
    blank = client.post("/api/v1/incidents/", {"title": "Odd noise", "incident_type": ""}, format="json")
    old = client.post("/api/v1/incidents/", {"title": "x", "incident_type": "security_breach"}, format="json")
    assert (absent.status_code, absent.data["incident_type"]) == (201, "")
    assert (blank.status_code, blank.data["incident_type"]) == (201, "")
    assert old.status_code == 400 and set(old.data["errors"]) == {"incident_type"}


def test_editing_a_classified_incident_keeps_the_type_in_its_category(api_as, manager):
    incident = incident_in("investigating", manager=manager, incident_type="host_failure")
    with pytest.raises(ValidationError) as refused:
        services.incident_update(incident=incident, user=manager, data={"incident_type": "malware"})
    assert set(refused.value.message_dict) == {"incident_type"}
    with pytest.raises(ValidationError):
        services.incident_update(incident=incident, user=manager, data={"incident_type": ""})
    incident = services.incident_update(
        incident=incident, user=manager, data={"incident_type": "network_outage"}
    )
    assert incident.incident_type == "network_outage"
    response = api_as(manager).patch(
        f"/api/v1/incidents/{incident.number}/", {"incident_type": "feed_issue"}, format="json"
    )
    assert response.status_code == 400 and set(response.data["errors"]) == {"incident_type"}
    # Before classification any type, or none, may be recorded.
    logged = incident_in("logged", manager=manager)
    assert services.incident_update(incident=logged, user=manager, data={"incident_type": "malware"})


# --- confidentiality follows the security category's types ------------------------------------------------


@pytest.mark.parametrize("incident_type", ["unauthorized_access", "malware", "security_other"])
def test_a_security_type_is_confidential_before_classification(service_desk, incident_type):
    reporter = make_user(username="researcher", is_staff=False)
    incident = services.incident_create(user=reporter, title="Odd logins", incident_type=incident_type)
    assert selectors.is_security_incident(incident)
    assert not selectors.may_see(service_desk, incident)
    assert selectors.may_see(make_user(Role.SECURITY_TEAM, username="sec"), incident)
    assert selectors.may_see(reporter, incident)
    assert incident in Incident.objects.filter(selectors.security_incident_q())


def test_other_types_are_not_security_incidents(service_desk):
    incident = services.incident_create(user=service_desk, title="Dish stuck", incident_type="feed_issue")
    assert not selectors.is_security_incident(incident)
    assert not Incident.objects.filter(selectors.security_incident_q()).exists()


# --- runbooks ------------------------------------------------------------------------------------------


def test_every_type_has_its_own_response_plan_and_security_ones_require_evidence(reference_data):
    plans = {p.incident_type: p for p in ResponsePlan.objects.prefetch_related("steps")}
    assert set(plans) == set(IncidentType.values)
    assert len({p.title for p in plans.values()}) == len(plans)
    for incident_type in ("unauthorized_access", "malware"):
        required = [s.text for s in plans[incident_type].steps.all() if s.required]
        assert any("preserve evidence" in text for text in required), incident_type
        assert any(text.startswith("Contain") for text in required), incident_type
    assert not any(s.required for s in plans["infrastructure_other"].steps.all())


# --- monitoring ------------------------------------------------------------------------------------------


def test_an_alert_source_type_must_be_of_its_category():
    source = AlertSource(name="Zabbix", slug="zabbix", default_category="security")
    source.default_incident_type = "host_failure"
    with pytest.raises(DjangoValidationError) as refused:
        source.clean()
    assert "default_incident_type" in refused.value.message_dict
    source.default_incident_type = "malware"
    source.clean()
    source.default_incident_type = ""  # the category's other
    source.clean()


def test_the_alert_source_admin_refuses_a_type_of_another_category(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("admin:incidents_alertsource_add"),
        {
            "name": "Prometheus",
            "slug": "prometheus",
            "kind": "alertmanager",
            "is_active": "on",
            "default_category": "observatory",
            "default_incident_type": "network_outage",
            "service_label": "service",
            "severity_label": "severity",
            "severity_map": '{"critical": ["high", "high"]}',
            "default_urgency": "medium",
            "default_impact": "medium",
        },
    )
    assert response.status_code == 200
    assert "default_incident_type" in response.context["adminform"].form.errors
    assert not AlertSource.objects.exists()


# --- CSV -------------------------------------------------------------------------------------------------


def test_an_export_written_before_the_new_types_imports_with_todays(manager):
    row = {
        "number": "INC-000700",
        "title": "Old breach",
        "category": "security",
        "incident_type": "security_breach",
        "state": "logged",
        "detected_at": "2025-10-01T07:50:00+00:00",
        "created_at": "2025-10-01T08:00:00+00:00",
    }
    other = {**row, "number": "INC-000701", "title": "Old other", "incident_type": "other"}
    lines = [",".join(COLUMNS)] + [",".join(r.get(c, "") for c in COLUMNS) for r in (row, other)]
    import_incidents(stream=io.StringIO("\n".join(lines) + "\n"), user=manager)
    assert dict(Incident.objects.values_list("number", "incident_type")) == {
        "INC-000700": "unauthorized_access",
        "INC-000701": "security_other",
    }


# --- the classify form ------------------------------------------------------------------------------------


def test_the_classify_form_groups_the_types_and_explains_the_severities(client, service_desk):
    incident = incident_in("logged")
    client.force_login(service_desk)
    page = client.get(classify_url(incident))
    content = page.content.decode()
    form = page.context["form"]
    groups = [label for label, options in form.fields["incident_type"].choices if isinstance(options, list)]
    assert groups == [c.label for c in Category]
    assert "data-types-by-category" in content and "incidents/type_by_category.js" in content
    # Seed 3.1's definitions with their targets, seed 3.2's grid, and what urgency and impact mean.
    for definition in (
        "Complete service outage, broad impact.",
        "Significant degradation, a major function affected.",
        "Limited impact, a workaround is available.",
        "Minimal impact, cosmetic issues.",
    ):
        assert definition in content
    assert "respond within 15 minutes" in content.lower() or "respond within 15 min" in content.lower()
    assert "Urgency and impact give the severity" in content
    assert "How soon must it be fixed?" in content and "How much of the service" in content
    assert 'id="severity-preview"' in content
    assert form["category"].value() == ""  # a first classification: no category chosen for them
    assert '<option value="" selected>Choose a category</option>' in content

    response = client.post(
        classify_url(incident),
        {"category": "security", "urgency": "low", "impact": "low", "incident_type": "sdr_failure"},
    )
    assert response.status_code == 200
    assert "belongs to the Observatory category" in response.context["form"].errors["incident_type"][0]
    incident.refresh_from_db()
    assert incident.state == State.LOGGED


def test_the_log_form_offers_the_types_grouped_with_not_known_yet(client, service_desk):
    client.force_login(service_desk)
    page = client.get(reverse("admin:incidents_incident_add"))
    choices = page.context["adminform"].form.fields["incident_type"].choices
    assert choices[0] == ("", "Not known yet")
    assert [label for label, _ in choices[1:]] == [c.label for c in Category]
    response = client.post(
        reverse("admin:incidents_incident_add"),
        {
            "title": "Dish wobbles",
            "incident_type": "",
            "source": "user",
            "detected_at_0": "",
            "detected_at_1": "",
        },
    )
    assert response.status_code == 302
    assert Incident.objects.get().incident_type == ""


def test_the_response_plan_list_shows_each_plan_category_and_required_steps(client, manager):
    client.force_login(manager)
    page = client.get(reverse("admin:incidents_responseplan_changelist"))
    plans = page.context["cl"]
    rows = {
        plan.incident_type: (plans.model_admin.category(plan), plans.model_admin.required_count(plan))
        for plan in plans.result_list
    }
    assert rows["unauthorized_access"] == ("Security", 2)
    assert rows["database_unavailable"] == ("Application", 0)
