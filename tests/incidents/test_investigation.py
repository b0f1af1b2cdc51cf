"""The investigation on record (seed 2.1 "Investigation: diagnosis and root cause analysis"): diagnosis,
root cause and workaround are edited while the incident is open and given at resolve; a person resolves an
S1 or S2 incident only with a diagnosis and a root cause; they reach the API, the weekly summary and the
major-incident review."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents import services
from incidents.choices import EventKind, State
from incidents.exceptions import ValidationError
from incidents.models import Incident
from reporting import renderers, selectors
from reporting.periods import iso_week
from reporting.services import review_draft
from tests.factories import INVESTIGATION, ServiceFactory, incident_in
from tests.incidents.admin_forms import change_form_data
from tests.incidents.alerting import ALERTMANAGER_URL, alertmanager_payload, make_source, post

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 9, 15, tzinfo=UTC)


def resolve(incident, user, **inputs):
    return services.incident_resolve(
        incident=incident, user=user, code="fixed", notes="Disk swapped", **inputs
    )


# --- the rule --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("urgency", "impact", "severity"), [("high", "high", "S1"), ("high", "medium", "S2")]
)
def test_a_person_resolves_s1_and_s2_only_with_diagnosis_and_root_cause(manager, urgency, impact, severity):
    incident = incident_in("investigating", manager=manager, urgency=urgency, impact=impact)
    assert incident.severity == severity
    with pytest.raises(ValidationError) as refused:
        resolve(incident, manager)
    assert set(refused.value.message_dict) == {"diagnosis", "root_cause"}
    assert f"Required to resolve an {severity} incident" in refused.value.message_dict["diagnosis"][0]
    with pytest.raises(ValidationError) as half:
        resolve(incident, manager, diagnosis="osd.7 down", root_cause="   ")
    assert set(half.value.message_dict) == {"root_cause"}
    incident.refresh_from_db()
    assert incident.state == State.INVESTIGATING and not incident.diagnosis

    incident = resolve(incident, manager, **INVESTIGATION, workaround="Pool runs degraded")
    assert incident.state == State.RESOLVED
    assert (incident.diagnosis, incident.root_cause, incident.workaround) == (
        INVESTIGATION["diagnosis"],
        INVESTIGATION["root_cause"],
        "Pool runs degraded",
    )
    event = incident.timeline.get(transition="resolve")
    assert event.data["investigation"] == ["diagnosis", "root_cause", "workaround"]
    assert incident.history.first().diagnosis == INVESTIGATION["diagnosis"]


def test_what_the_page_holds_is_enough_and_blank_inputs_keep_it(manager):
    incident = incident_in("investigating", manager=manager)
    incident = services.incident_update(incident=incident, user=manager, data=INVESTIGATION)
    assert incident.timeline.filter(kind=EventKind.UPDATE, data__fields=["diagnosis", "root_cause"]).exists()
    incident = resolve(incident, manager, diagnosis="", root_cause="")
    assert (incident.state, incident.root_cause) == (State.RESOLVED, INVESTIGATION["root_cause"])


@pytest.mark.parametrize(("urgency", "impact"), [("medium", "medium"), ("low", "low")])
def test_s3_and_s4_resolve_without_an_investigation_on_record(manager, urgency, impact):
    incident = incident_in("investigating", manager=manager, urgency=urgency, impact=impact)
    assert resolve(incident, manager).state == State.RESOLVED


def test_the_investigation_is_read_only_once_resolved(manager):
    incident = incident_in("resolved", manager=manager)
    with pytest.raises(Exception) as refused:
        services.incident_update(incident=incident, user=manager, data={"root_cause": "Changed my mind"})
    assert refused.value.__class__.__name__ == "Conflict"
    corrected = services.incident_correct(
        incident=incident, user=manager, data={"root_cause": "Firmware bug"}, reason="Vendor analysis"
    )
    assert corrected.root_cause == "Firmware bug"


def test_monitoring_recovering_an_s1_resolves_it_without_a_diagnosis():
    """A system account has no investigation to give: the recovery resolves it, self-healed."""
    ServiceFactory(slug="ceph")
    _, token = make_source("Prometheus", auto_resolve=True)
    with time_machine.travel(NOW, tick=False):
        number = post(ALERTMANAGER_URL, alertmanager_payload("firing"), token).data["incidents"][0]
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        response = post(ALERTMANAGER_URL, alertmanager_payload("resolved"), token)
    incident = Incident.objects.get(number=number)
    assert response.data["results"][0]["action"] == "resolved"
    assert (incident.severity, incident.state, incident.diagnosis) == ("S1", State.RESOLVED, "")


# --- the API ---------------------------------------------------------------------------------------------


def test_the_api_shows_edits_and_resolves_with_the_investigation(api_as, manager):
    incident = incident_in("investigating", manager=manager)
    client = api_as(manager)
    url = f"/api/v1/incidents/{incident.number}/"
    response = client.patch(url, {"diagnosis": "osd.7 flapping"}, format="json")
    assert response.status_code == 200 and response.data["diagnosis"] == "osd.7 flapping"

    response = client.post(
        url + "resolve/", {"resolution_code": "fixed", "resolution_notes": "done"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.data["errors"]) == {"root_cause"}, "the diagnosis on record counts"

    body = {
        "resolution_code": "fixed",
        "resolution_notes": "done",
        "root_cause": "Worn-out disk",
        "workaround": "-",
    }
    response = client.post(url + "resolve/", body, format="json")
    assert response.status_code == 200, response.data
    assert (response.data["diagnosis"], response.data["root_cause"], response.data["workaround"]) == (
        "osd.7 flapping",
        "Worn-out disk",
        "-",
    )


def test_the_resolve_inputs_are_announced(api_as, manager):
    incident = incident_in("investigating", manager=manager)
    options = api_as(manager).get(f"/api/v1/incidents/{incident.number}/transitions/").data
    resolve_inputs = {
        i["name"]: i["required"] for o in options if o["name"] == "resolve" for i in o["inputs"]
    }
    assert resolve_inputs == {
        "resolution_code": True,
        "resolution_notes": True,
        "diagnosis": False,
        "root_cause": False,
        "workaround": False,
    }


# --- the admin -------------------------------------------------------------------------------------------


def test_the_incident_page_edits_the_investigation_and_the_resolve_form_takes_it(client, manager):
    incident = incident_in("investigating", manager=manager)
    client.force_login(manager)
    change_url = reverse("admin:incidents_incident_change", args=[incident.pk])
    page = client.get(change_url)
    assert "Investigation" in page.content.decode()
    data = change_form_data(page, diagnosis="osd.7 down: media errors")
    assert client.post(change_url, data).status_code == 302
    incident.refresh_from_db()
    assert incident.diagnosis == "osd.7 down: media errors"

    # Editing another field keeps the investigation (the fields are on the form, not blanked).
    page = client.get(change_url)
    assert client.post(change_url, change_form_data(page, title="Ceph OSD down (pve-03)")).status_code == 302
    incident.refresh_from_db()
    assert incident.diagnosis == "osd.7 down: media errors"

    resolve_url = reverse("admin:incidents_incident_transition", args=[incident.pk, "resolve"])
    form_page = client.get(resolve_url)
    assert form_page.context["form"]["diagnosis"].value() == "osd.7 down: media errors"
    assert "Required for S1." in form_page.content.decode()
    response = client.post(
        resolve_url,
        {
            "resolution_code": "fixed",
            "resolution_notes": "Disk swapped",
            "diagnosis": "osd.7 down: media errors",
        },
    )
    assert response.status_code == 200
    assert "root_cause" in response.context["form"].errors
    response = client.post(
        resolve_url,
        {
            "resolution_code": "fixed",
            "resolution_notes": "Disk swapped",
            "diagnosis": "osd.7 down: media errors",
            "root_cause": "Worn-out disk",
        },
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.state, incident.root_cause) == (State.RESOLVED, "Worn-out disk")


# --- reports ---------------------------------------------------------------------------------------------


def test_the_weekly_summary_shows_the_investigation_but_not_a_security_incidents(manager):
    with time_machine.travel(NOW, tick=False):
        ordinary = incident_in("investigating", manager=manager)
        resolve(ordinary, manager, **INVESTIGATION, workaround="Run degraded")
        secret = incident_in("investigating", manager=manager, incident_type="malware")
        for step in secret.checklist.filter(required=True):
            services.checklist_item_done(item=step, user=manager)
        resolve(secret, manager, diagnosis="xmrig on gpu-2", root_cause="Leaked notebook token")
    data = selectors.weekly_summary(week=iso_week(*NOW.isocalendar()[:2]), now=NOW + timedelta(days=1))
    rows = {row["number"]: row for row in data["incidents"]}
    assert rows[ordinary.number]["root_cause"] == INVESTIGATION["root_cause"]
    assert rows[ordinary.number]["workaround"] == "Run degraded"
    assert (rows[secret.number]["diagnosis"], rows[secret.number]["root_cause"]) == ("", "")

    markdown = renderers.render("weekly_summary", data, "md").decode()
    html = renderers.render("weekly_summary", data, "html").decode()
    csv_text = renderers.render("weekly_summary", data, "csv").decode()
    for text in (markdown, html, csv_text):
        assert "Worn-out disk" in text and "Run degraded" in text
        assert "Leaked notebook token" not in text and "xmrig" not in text
    assert "## Investigation" in markdown


def test_the_review_of_a_major_incident_starts_from_the_investigation(manager):
    incident = incident_in("investigating", manager=manager)
    services.incident_set_major(incident=incident, user=manager, is_major=True, reason="S1")
    resolve(incident, manager, **INVESTIGATION, workaround="Pool runs degraded")
    incident.refresh_from_db()
    data = selectors.major_incident_review(incident=incident)
    assert data["incident"]["root_cause"] == INVESTIGATION["root_cause"]
    review = review_draft(incident=incident)
    assert INVESTIGATION["root_cause"] in review.root_cause
    assert INVESTIGATION["diagnosis"] in review.summary and "Pool runs degraded" in review.summary
