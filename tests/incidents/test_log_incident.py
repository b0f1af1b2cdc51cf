"""*Log incident*: one form that logs and may classify in the same submit (`services.incident_log`),
previewing the severity and due times by the server's own rule, with the seed's words as help."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents import selectors, services
from incidents.choices import EventKind, State
from incidents.exceptions import PermissionDenied, ValidationError
from incidents.models import Incident, TimelineEvent
from tests.factories import ServiceFactory, make_user

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:incidents_incident_add")
PREVIEW_URL = reverse("admin:incidents_incident_preview_severity")
NOW = datetime(2026, 5, 6, 21, 0, tzinfo=UTC)


def change_url(incident):
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def log_form(**fields):
    return {
        "title": "Ceph OSD down on pve-03",
        "description": "HEALTH_WARN: 1 osds down",
        "incident_type": "host_failure",
        "source": "operations",
        "detected_at_0": "",
        "detected_at_1": "",
        **fields,
    }


# --- the service -----------------------------------------------------------------------------------------


def test_log_and_classify_in_one_call(service_desk):
    incident = services.incident_log(
        user=service_desk,
        title="Feed down",
        service=ServiceFactory(),
        classification={"category": "observatory", "urgency": "high", "impact": "medium"},
    )
    assert (incident.state, incident.severity, incident.category) == (State.CLASSIFIED, "S2", "observatory")
    assert incident.response_due_at == incident.created_at + timedelta(minutes=30)
    kinds = list(incident.timeline.order_by("pk").values_list("kind", "to_state"))
    assert kinds[:2] == [(EventKind.CREATED, State.LOGGED), (EventKind.TRANSITION, State.CLASSIFIED)]


def test_log_without_classification_waits_to_be_classified(service_desk):
    incident = services.incident_log(user=service_desk, title="Feed down")
    assert (incident.state, incident.severity, incident.category) == (State.LOGGED, "S3", "")
    assert incident.severity_provisional  # the default, until classification sets the real one


def test_a_partial_classification_is_refused_and_nothing_is_logged(service_desk):
    with pytest.raises(ValidationError) as err:
        services.incident_log(user=service_desk, title="Feed down", classification={"urgency": "high"})
    assert set(err.value.message_dict) == {"category", "impact"}
    assert not Incident.objects.exists()


def test_classification_refused_means_nothing_is_logged(sysadmin):
    """System Administrators log incidents but do not classify them: all or nothing."""
    with pytest.raises(PermissionDenied):
        services.incident_log(
            user=sysadmin,
            title="Feed down",
            classification={"category": "observatory", "urgency": "high", "impact": "high"},
        )
    assert not Incident.objects.exists()
    assert not TimelineEvent.objects.exists()


# --- the preview -----------------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_preview_is_the_matrix_and_the_sla_policy(client, service_desk):
    client.force_login(service_desk)
    response = client.get(PREVIEW_URL, {"urgency": "high", "impact": "high"})
    assert response.status_code == 200
    data = response.json()
    assert (data["severity"], data["label"]) == ("S1", "S1 Critical")
    assert data["definition"] == "Complete service outage, broad impact."
    assert (data["response_target"], data["resolution_target"]) == ("15 min", "4 h")
    assert data["response_due_at"] == (NOW + timedelta(minutes=15)).isoformat()
    assert data["resolution_due_at"] == (NOW + timedelta(hours=4)).isoformat()
    assert data["response_due"].startswith("21:15")

    # The same rule classification applies, for every cell of the matrix.
    for urgency in ("high", "medium", "low"):
        for impact in ("high", "medium", "low"):
            preview = client.get(PREVIEW_URL, {"urgency": urgency, "impact": impact}).json()
            incident = services.incident_log(
                user=service_desk,
                title="Probe",
                classification={"category": "application", "urgency": urgency, "impact": impact},
            )
            assert preview["severity"] == incident.severity
            assert preview["resolution_due_at"] == incident.resolution_due_at.isoformat()


def test_preview_refuses_values_off_the_scale(client, service_desk):
    client.force_login(service_desk)
    response = client.get(PREVIEW_URL, {"urgency": "urgent", "impact": "high"})
    assert response.status_code == 400
    assert "high, medium or low" in response.json()["error"]
    assert client.get(PREVIEW_URL).status_code == 400


def test_preview_is_for_those_who_log(client, management):
    client.force_login(management)
    assert client.get(PREVIEW_URL, {"urgency": "high", "impact": "high"}).status_code == 403


def test_selector_without_a_policy_gives_no_due_times(manager):
    from incidents.models import SlaPolicy

    SlaPolicy.objects.filter(severity="S4").delete()
    preview = selectors.severity_preview(urgency="low", impact="low")
    assert (preview.severity, preview.response_due_at, preview.resolution_target) == ("S4", None, None)


# --- the admin form --------------------------------------------------------------------------------------


def test_log_and_classify_in_one_submit(client, service_desk):
    client.force_login(service_desk)
    page = client.get(ADD_URL)
    content = page.content.decode()
    assert page.context["title"] == "Log incident"
    form = page.context["adminform"].form
    # Nothing pre-selected: the category starts empty and urgency and impact unticked.
    assert form["category"].value() in (None, "")
    assert form["urgency"].value() is None and form["impact"].value() is None
    # The seed's words as help, no internal jargon.
    assert "Complete service outage, broad impact." in content
    assert "A service is down or most of its users are affected." in content
    assert f'data-url="{PREVIEW_URL}"' in content and 'id="severity-preview"' in content
    assert "incidents/log_incident.js" in content
    assert "matrix" not in content.lower() and "seed" not in content.lower()

    response = client.post(
        ADD_URL, log_form(category="infrastructure", urgency="high", impact="medium"), follow=True
    )
    incident = Incident.objects.get()
    assert response.redirect_chain == [(change_url(incident), 302)]
    assert (incident.state, incident.severity, incident.reporter) == (State.CLASSIFIED, "S2", service_desk)
    assert incident.checklist.count() == 5  # the host-failure response plan came with the classification


def test_log_without_classifying(client, service_desk):
    client.force_login(service_desk)
    response = client.post(ADD_URL, log_form(category=""))
    assert response.status_code == 302
    assert Incident.objects.get().state == State.LOGGED


def test_half_a_classification_is_shown_again_with_the_text_kept(client, service_desk):
    client.force_login(service_desk)
    response = client.post(ADD_URL, log_form(urgency="high"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    # Urgency and impact without a category set the provisional severity: they come together or not at all.
    assert set(errors) == {"impact"}
    assert "HEALTH_WARN: 1 osds down" in response.content.decode()
    assert not Incident.objects.exists()


def test_who_may_not_classify_logs_without_the_classification_fields(client, sysadmin):
    client.force_login(sysadmin)
    page = client.get(ADD_URL)
    assert not {"category", "urgency", "impact"} & set(page.context["adminform"].form.fields)
    assert 'id="severity-preview"' not in page.content.decode()
    # Posted anyway, they are ignored: the incident is logged, not classified.
    response = client.post(ADD_URL, log_form(category="security", urgency="high", impact="high"))
    assert response.status_code == 302
    assert Incident.objects.get().state == State.LOGGED


def test_reclassify_form_uses_the_same_descriptions(client, manager):
    incident = services.incident_log(user=manager, title="Feed down")
    client.force_login(manager)
    page = client.get(reverse("admin:incidents_incident_transition", args=[incident.pk, "classify"]))
    content = page.content.decode()
    assert "How soon must it be fixed?" in content and "It can wait to be scheduled." in content
    assert "seed" not in content.lower()


def test_management_cannot_open_the_log_form(client, management):
    client.force_login(management)
    assert client.get(ADD_URL).status_code == 403


def test_reporters_have_no_classification_either():
    from incidents.forms import IncidentLogForm

    form_class = type("Form", (IncidentLogForm,), {"user": make_user(username="walk-in", is_staff=False)})
    assert "urgency" not in form_class().fields


def test_the_form_is_called_log_incident_wherever_it_is_reached(client, service_desk, management):
    client.force_login(service_desk)
    home = client.get(reverse("admin:index")).content.decode()
    assert f'id="log-incident" href="{ADD_URL}"' in home
    listing = client.get(reverse("admin:incidents_incident_changelist")).content.decode()
    assert "Log incident" in listing and "Add incident" not in listing
    form_page = client.get(ADD_URL).content.decode()
    assert "&rsaquo; Log incident" in form_page and "Add incident" not in form_page

    client.force_login(management)
    assert 'id="log-incident"' not in client.get(reverse("admin:index")).content.decode()
