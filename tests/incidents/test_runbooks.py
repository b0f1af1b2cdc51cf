"""Runbooks that count: a response plan's required steps are copied onto the incident; resolve is refused
(409 naming them) while one is neither done nor skipped with a reason; skipping goes through one service
from the admin and the API and is on the timeline."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents import services
from incidents.choices import EventKind, Role, State
from incidents.exceptions import (
    Conflict,
    PermissionDenied,
    RequiredStepsOpen,
    TransitionNotAllowed,
    ValidationError,
)
from incidents.models import Incident, ResponsePlan
from tests.factories import INVESTIGATION, ServiceFactory, make_user
from tests.incidents.alerting import ALERTMANAGER_URL, alertmanager_payload, make_source, post

pytestmark = pytest.mark.django_db


def investigating(manager, incident_type="malware", category="security"):
    incident = services.incident_create(user=manager, title="xmrig on gpu-2", incident_type=incident_type)
    incident = services.incident_classify(
        incident=incident, user=manager, category=category, urgency="medium", impact="medium"
    )
    return services.incident_investigate(incident=incident, user=manager)


def resolve(incident, user):
    return services.incident_resolve(
        incident=incident, user=user, code="fixed", notes="Re-imaged", **INVESTIGATION
    )


def test_classification_copies_which_steps_are_required(manager):
    incident = investigating(manager)
    plan = ResponsePlan.objects.get(incident_type="malware")
    assert list(incident.checklist.values_list("text", "required")) == list(
        plan.steps.values_list("text", "required")
    )
    assert incident.checklist.filter(required=True).count() == 2


def test_resolve_is_refused_naming_the_required_steps_neither_done_nor_skipped(manager, sysadmin):
    incident = investigating(manager)
    evidence, contain = incident.checklist.filter(required=True).order_by("order")
    services.checklist_item_done(item=incident.checklist.get(required=False, order=3), user=sysadmin)

    with pytest.raises(RequiredStepsOpen) as refused:
        resolve(incident, manager)
    assert isinstance(refused.value, Conflict)
    assert [step.pk for step in refused.value.steps] == [evidence.pk, contain.pk]
    assert evidence.text in str(refused.value) and contain.text in str(refused.value)
    incident.refresh_from_db()
    assert incident.state == State.INVESTIGATING

    services.checklist_item_done(item=evidence, user=sysadmin)
    with pytest.raises(RequiredStepsOpen) as still:
        resolve(incident, manager)
    assert [step.pk for step in still.value.steps] == [contain.pk]

    services.checklist_item_skip(item=contain, user=sysadmin, reason="The node was already powered off")
    assert resolve(incident, manager).state == State.RESOLVED


def test_skipping_needs_a_reason_and_is_on_the_timeline(manager, sysadmin):
    incident = investigating(manager)
    step = incident.checklist.filter(required=True).first()
    with pytest.raises(ValidationError) as refused:
        services.checklist_item_skip(item=step, user=sysadmin, reason="  ")
    assert set(refused.value.message_dict) == {"reason"}

    at = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        step = services.checklist_item_skip(item=step, user=sysadmin, reason=" No disk to image ")
    assert (step.skipped_at, step.skipped_by, step.skip_reason) == (at, sysadmin, "No disk to image")
    event = incident.timeline.get(kind=EventKind.CHECKLIST_SKIP)
    assert (event.actor, event.data["step_id"], event.data["required"]) == (sysadmin, step.pk, True)
    assert "No disk to image" in event.note

    again = services.checklist_item_skip(item=step, user=sysadmin, reason="twice")  # changes nothing
    assert again.skip_reason == "No disk to image"
    assert incident.timeline.filter(kind=EventKind.CHECKLIST_SKIP).count() == 1


def test_a_done_step_is_not_skipped_and_who_may_not_tick_may_not_skip(manager, management):
    incident = investigating(manager)
    step = incident.checklist.first()
    with pytest.raises(PermissionDenied):
        services.checklist_item_skip(item=step, user=management, reason="not needed")
    services.checklist_item_done(item=step, user=manager)
    with pytest.raises(Conflict) as refused:
        services.checklist_item_skip(item=step, user=manager, reason="not needed")
    assert "already done" in str(refused.value)


def test_a_finished_incident_steps_are_not_skipped(manager):
    incident = investigating(manager, incident_type="", category="infrastructure")
    incident = resolve(incident, manager)
    with pytest.raises(TransitionNotAllowed):
        services.checklist_item_skip(item=incident.checklist.first(), user=manager, reason="late")


def test_a_reopened_incident_keeps_its_steps_done_or_skipped(manager):
    incident = investigating(manager)
    for step in incident.checklist.filter(required=True):
        services.checklist_item_skip(item=step, user=manager, reason="Handled by the vendor")
    incident = resolve(incident, manager)
    incident = services.incident_reopen(incident=incident, user=manager, reason="Miner back")
    assert resolve(incident, manager).state == State.RESOLVED


# --- the API ---------------------------------------------------------------------------------------------


def test_the_api_names_the_steps_in_its_409_and_skips_with_a_reason(api_as, manager):
    incident = investigating(manager)
    client = api_as(manager)
    base = f"/api/v1/incidents/{incident.number}/"
    body = {"resolution_code": "fixed", "resolution_notes": "Re-imaged", **INVESTIGATION}
    response = client.post(base + "resolve/", body, format="json")
    assert response.status_code == 409
    assert response.data["code"] == "required_steps_open"
    required = list(incident.checklist.filter(required=True).order_by("order"))
    assert [s["id"] for s in response.data["steps"]] == [s.pk for s in required]

    checklist = client.get(base + "checklist/").data
    assert [item["required"] for item in checklist] == [
        s.required for s in incident.checklist.order_by("order")
    ]
    assert client.post(base + f"checklist/{required[0].pk}/skip/", {}, format="json").status_code == 400
    response = client.post(
        base + f"checklist/{required[0].pk}/skip/", {"reason": "Wiped by the attacker"}, format="json"
    )
    assert response.status_code == 200
    assert (response.data["skipped"], response.data["skipped_by"], response.data["skip_reason"]) == (
        True,
        "manager",
        "Wiped by the attacker",
    )
    assert client.post(base + f"checklist/{required[1].pk}/done/").status_code == 200
    assert client.post(base + "resolve/", body, format="json").status_code == 200


def test_the_api_refuses_skips_by_readers_and_of_other_incidents_steps(api_as, manager, management):
    incident = investigating(manager, incident_type="host_failure", category="infrastructure")
    other = investigating(manager)
    step = incident.checklist.first()
    base = f"/api/v1/incidents/{incident.number}/"
    assert (
        api_as(management)
        .post(base + f"checklist/{step.pk}/skip/", {"reason": "x"}, format="json")
        .status_code
        == 403
    )
    wrong = f"/api/v1/incidents/{other.number}/checklist/{step.pk}/skip/"
    assert api_as(manager).post(wrong, {"reason": "x"}, format="json").status_code == 404


# --- the admin -------------------------------------------------------------------------------------------


def test_the_incident_page_marks_required_steps_and_skips_through_its_own_form(client, manager):
    incident = investigating(manager)
    step = incident.checklist.filter(required=True).first()
    client.force_login(manager)
    change_url = reverse("admin:incidents_incident_change", args=[incident.pk])
    page = client.get(change_url).content.decode()
    assert page.count('class="itsm-required"') == 2
    skip_url = reverse("admin:incidents_incident_checklist_skip", args=[incident.pk, step.pk])
    assert skip_url in page

    form = client.get(skip_url)
    assert form.status_code == 200 and step.text in form.content.decode()
    response = client.post(skip_url, {"reason": ""})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    response = client.post(skip_url, {"reason": "Host wiped before we got to it"}, follow=True)
    assert response.redirect_chain[-1][0].startswith(change_url)
    step.refresh_from_db()
    assert step.skip_reason == "Host wiped before we got to it"
    assert "Host wiped before we got to it" in response.content.decode()

    resolve_url = reverse("admin:incidents_incident_transition", args=[incident.pk, "resolve"])
    response = client.post(
        resolve_url,
        {"resolution_code": "fixed", "resolution_notes": "Re-imaged", **INVESTIGATION},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any("Required runbook steps" in m and "Contain" in m for m in messages), messages
    incident.refresh_from_db()
    assert incident.state == State.INVESTIGATING


def test_the_skip_page_refuses_readers(client, manager, management):
    incident = investigating(manager, incident_type="host_failure", category="infrastructure")
    step = incident.checklist.first()
    client.force_login(management)
    url = reverse("admin:incidents_incident_checklist_skip", args=[incident.pk, step.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "x"}).status_code == 403
    step.refresh_from_db()
    assert step.skipped_at is None


def test_the_response_plan_admin_marks_steps_required(client, manager):
    client.force_login(manager)
    plan = ResponsePlan.objects.get(incident_type="network_outage")
    page = client.get(reverse("admin:incidents_responseplan_change", args=[plan.pk]))
    assert "required" in page.context["inline_admin_formsets"][0].formset.forms[0].fields


# --- monitoring ------------------------------------------------------------------------------------------


def test_a_recovery_does_not_skip_the_runbook_and_says_why(manager):
    ServiceFactory(slug="ceph")
    _, token = make_source("Prometheus", auto_resolve=True, default_category="security")
    labels = {"alertname": "Miner", "service": "ceph", "severity": "warning"}
    number = post(ALERTMANAGER_URL, alertmanager_payload("firing", labels=labels), token).data["incidents"][0]
    incident = Incident.objects.get(number=number)
    assert incident.incident_type == "security_other" and incident.checklist.filter(required=True).exists()

    response = post(ALERTMANAGER_URL, alertmanager_payload("resolved", labels=labels), token)

    assert response.data["results"][0]["action"] == "recovered"
    incident.refresh_from_db()
    assert incident.state == State.CLASSIFIED  # the investigate step rolled back with the refused resolve
    note = incident.timeline.filter(kind=EventKind.MONITORING).order_by("pk").last().note
    assert note.startswith("Not resolved automatically: Required runbook steps")


def test_whoever_works_it_may_skip(manager):
    expert = make_user(Role.EXPERTS, username="marta")
    incident = investigating(manager)
    step = services.checklist_item_skip(item=incident.checklist.last(), user=expert, reason="Not our node")
    assert step.skipped_by == expert
    assert Incident.objects.get(pk=incident.pk).state == State.INVESTIGATING
    assert timedelta(0) <= step.skipped_at - incident.created_at
