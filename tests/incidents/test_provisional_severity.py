"""Nothing unseen (issue 10, item 2): every incident gets a provisional severity at logging, from the caller's
urgency and impact or the default an Incident Manager configures, so its response clock runs from logging;
classification replaces it and recomputes the due times from logging, on the timeline."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents import clocks, services
from incidents.admin.base import sla_status
from incidents.choices import EventKind, State
from incidents.csv_io import export_incidents, import_incidents
from incidents.exceptions import PermissionDenied, ValidationError
from incidents.models import Incident, ProcessSettings, SlaPolicy
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 4, 7, 10, 0, tzinfo=UTC)
MIN, HOUR = timedelta(minutes=1), timedelta(hours=1)
ADD_URL = reverse("admin:incidents_incident_add")
SETTINGS_LIST_URL = reverse("admin:incidents_processsettings_changelist")


def at(moment):
    return time_machine.travel(moment, tick=False)


def log(user, when=T0, **inputs):
    with at(when):
        return services.incident_create(user=user, title="Feed down", service=ServiceFactory(), **inputs)


def classify(incident, user, when, urgency="high", impact="high", **inputs):
    with at(when):
        return services.incident_classify(
            incident=incident, user=user, category="observatory", urgency=urgency, impact=impact, **inputs
        )


def severity_events(incident):
    return list(incident.timeline.filter(kind=EventKind.SEVERITY).order_by("pk"))


# --- at logging ------------------------------------------------------------------------------------------


def test_logging_gives_the_default_provisional_severity_and_starts_its_clocks(service_desk):
    incident = log(service_desk)
    assert (incident.state, incident.severity, incident.severity_provisional) == (State.LOGGED, "S3", True)
    # S3: 4 h response, 24 h resolution, counted from logging.
    assert incident.response_due_at == T0 + 4 * HOUR
    assert incident.resolution_due_at == T0 + 24 * HOUR
    assert clocks.running_clock(incident) == clocks.Clock.RESPONSE
    assert not clocks.response_breached(incident, T0 + 4 * HOUR)
    assert clocks.response_breached(incident, T0 + 4 * HOUR + MIN)


@pytest.mark.parametrize(
    ("urgency", "impact", "severity", "response"),
    [("high", "high", "S1", 15 * MIN), ("high", "medium", "S2", 30 * MIN), ("low", "low", "S4", 24 * HOUR)],
)
def test_the_callers_urgency_and_impact_give_the_provisional_severity(
    service_desk, urgency, impact, severity, response
):
    incident = log(service_desk, urgency=urgency, impact=impact)
    assert (incident.severity, incident.severity_provisional) == (severity, True)
    assert (incident.urgency, incident.impact) == (urgency, impact)
    assert incident.response_due_at == T0 + response
    assert incident.state == State.LOGGED and incident.classified_at is None


def test_urgency_and_impact_come_together(service_desk):
    with pytest.raises(ValidationError) as err:
        log(service_desk, urgency="high")
    assert set(err.value.message_dict) == {"impact"}
    with pytest.raises(ValidationError) as err:
        log(service_desk, urgency="urgent", impact="high")
    assert set(err.value.message_dict) == {"urgency"}
    assert not Incident.objects.exists()


def test_the_default_is_what_an_incident_manager_configured(manager):
    services.process_settings_update(user=manager, provisional_severity="S2", auto_close_after=5 * 24 * HOUR)
    incident = log(manager)
    assert (incident.severity, incident.response_due_at) == ("S2", T0 + 30 * MIN)
    # Given urgency and impact still decide.
    assert log(manager, urgency="low", impact="low").severity == "S4"


def test_logging_never_fails_for_want_of_an_sla_policy(service_desk):
    SlaPolicy.objects.filter(severity="S3").delete()
    incident = log(service_desk)
    assert (incident.severity, incident.response_due_at) == ("S3", None)
    assert sla_status(incident, T0 + HOUR) == ("no SLA clock", "muted")


@pytest.mark.parametrize("offset", [MIN, 20 * MIN, 5 * HOUR, 30 * HOUR])
def test_python_and_database_forms_agree_on_provisional_clocks(manager, offset):
    """`incidents.clocks` in Python and in the database, over incidents that were never classified."""
    fleet = [
        log(manager),  # S3 provisional: 4 h / 24 h
        log(manager, urgency="high", impact="high"),  # S1 provisional: 15 min / 4 h
        log(manager, urgency="low", impact="low"),  # S4 provisional: 24 h / 72 h
        classify(log(manager), manager, T0 + 10 * MIN),  # S1 since, counted from logging
    ]
    with at(T0 + MIN):
        fleet.append(services.incident_cancel(incident=log(manager), user=manager, reason="duplicate"))
    now = T0 + offset
    with at(now):
        fresh = {i.pk: i for i in Incident.objects.filter(pk__in=[i.pk for i in fleet])}

        def rows(condition):
            return set(Incident.objects.filter(pk__in=fresh).filter(condition).values_list("pk", flat=True))

        for python, database in [
            (lambda i: clocks.response_breached(i, now), clocks.response_breached_q(now)),
            (lambda i: clocks.resolution_breached(i, now), clocks.resolution_breached_q(now)),
            (clocks.response_running, clocks.response_running_q()),
            (clocks.resolution_running, clocks.resolution_running_q()),
        ]:
            assert rows(database) == {pk for pk, i in fresh.items() if python(i)}
        annotated = dict(
            Incident.objects.filter(pk__in=fresh)
            .annotate(due=clocks.running_due_at_expression())
            .values_list("pk", "due")
        )
        assert annotated == {pk: clocks.running_due_at(i) for pk, i in fresh.items()}
    # Every one but the cancelled incident runs its response clock from logging, late or not.
    running = [clocks.running_clock(fresh[i.pk]) for i in fleet]
    assert running == [clocks.Clock.RESPONSE] * 4 + [None]


# --- classification replaces it --------------------------------------------------------------------------


def test_classification_replaces_the_provisional_severity_and_counts_from_logging(manager):
    incident = log(manager)
    incident = classify(incident, manager, T0 + 2 * HOUR)  # high x high: S1
    assert (incident.severity, incident.severity_provisional) == ("S1", False)
    # The due times count from logging, not from classification: the S1 response is already late.
    assert incident.response_due_at == T0 + 15 * MIN
    assert incident.resolution_due_at == T0 + 4 * HOUR
    [event] = severity_events(incident)
    assert event.note == "Severity S3 (provisional) → S1; due times counted from logging"
    assert event.data == {"from": "S3", "to": "S1", "matrix": "S1", "override": False, "provisional": True}

    # Reclassifying later is an ordinary change again.
    incident = classify(incident, manager, T0 + 3 * HOUR, urgency="low", impact="low")
    assert severity_events(incident)[-1].note == "Severity S1 → S4"
    assert not severity_events(incident)[-1].data["provisional"]


def test_a_confirmed_provisional_severity_is_on_the_timeline_too(manager):
    incident = classify(log(manager, urgency="high", impact="medium"), manager, T0 + MIN, "medium", "high")
    assert (incident.severity, incident.severity_provisional) == ("S2", False)
    [event] = severity_events(incident)
    assert event.note == "Severity S2 (provisional) → S2; due times counted from logging"


def test_an_override_says_which_provisional_severity_it_replaced(manager):
    incident = log(manager)
    incident = classify(incident, manager, T0 + MIN, "low", "low", severity="S2", severity_reason="VIP")
    [event] = severity_events(incident)
    assert event.note == "Severity S2 overrides the matrix (S4), replacing the provisional S3: VIP"


def test_log_and_classify_in_one_call_is_classified_once(service_desk):
    with at(T0):
        incident = services.incident_log(
            user=service_desk,
            title="Feed down",
            classification={"category": "observatory", "urgency": "high", "impact": "medium"},
        )
    assert (incident.state, incident.severity, incident.severity_provisional) == ("classified", "S2", False)
    assert incident.response_due_at == T0 + 30 * MIN
    assert [e.data["from"] for e in severity_events(incident)] == ["S2"]  # the matrix's from the start


# --- the admin -------------------------------------------------------------------------------------------


def test_the_log_form_takes_urgency_and_impact_without_classifying(client, service_desk):
    client.force_login(service_desk)
    response = client.post(
        ADD_URL,
        {
            "title": "Ceph OSD down",
            "incident_type": "",
            "source": "operations",
            "urgency": "high",
            "impact": "high",
            "category": "",
            "detected_at_0": "",
            "detected_at_1": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    incident = Incident.objects.get()
    assert (incident.state, incident.severity, incident.severity_provisional) == (State.LOGGED, "S1", True)


def test_header_and_list_say_provisional_until_classified(client, manager):
    incident = log(manager)
    client.force_login(manager)
    change_url = reverse("admin:incidents_incident_change", args=[incident.pk])
    page = client.get(change_url).content.decode()
    assert 'itsm-sev-S3" title="S3 Medium">S3</span> <span class="itsm-provisional"' in page
    listing = client.get(reverse("admin:incidents_incident_changelist")).content.decode()
    assert "itsm-provisional" in listing
    classify(incident, manager, datetime.now(UTC))
    assert "itsm-provisional" not in client.get(change_url).content.decode()
    assert (
        "itsm-provisional" not in client.get(reverse("admin:incidents_incident_changelist")).content.decode()
    )


def test_incident_managers_edit_the_one_settings_row(client, manager):
    client.force_login(manager)
    response = client.get(SETTINGS_LIST_URL)
    row = ProcessSettings.current()
    change_url = reverse("admin:incidents_processsettings_change", args=[row.pk])
    assert response.status_code == 302 and response.url == change_url
    page = client.get(change_url)
    assert page.status_code == 200
    assert page.context["adminform"].form["auto_close_after"].value() == "5 days"
    response = client.post(change_url, {"provisional_severity": "S4", "auto_close_after": "3 days"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.provisional_severity, row.auto_close_after) == ("S4", timedelta(days=3))
    assert log(manager).severity == "S4"

    # One row: none added, none deleted.
    assert client.get(reverse("admin:incidents_processsettings_add")).status_code == 403
    assert client.get(reverse("admin:incidents_processsettings_delete", args=[row.pk])).status_code == 403
    # The service's limits show on the form.
    response = client.post(change_url, {"provisional_severity": "S4", "auto_close_after": "10 min"})
    assert response.status_code == 200
    assert "At least 1 h" in response.context["adminform"].form.errors["auto_close_after"][0]


def test_other_roles_neither_see_nor_change_the_settings(client, service_desk, management):
    for user in (service_desk, management):
        client.force_login(user)
        assert client.get(SETTINGS_LIST_URL).status_code == 403
        with pytest.raises(PermissionDenied):
            services.process_settings_update(
                user=user, provisional_severity="S1", auto_close_after=timedelta(days=1)
            )
    assert ProcessSettings.current().provisional_severity == "S3"


def test_the_service_checks_its_inputs(manager):
    with pytest.raises(ValidationError) as err:
        services.process_settings_update(user=manager, provisional_severity="S9", auto_close_after=None)
    assert set(err.value.message_dict) == {"provisional_severity", "auto_close_after"}
    with pytest.raises(ValidationError) as err:
        services.process_settings_update(
            user=manager, provisional_severity="S3", auto_close_after=timedelta(days=91)
        )
    assert set(err.value.message_dict) == {"auto_close_after"}


def test_an_exported_logged_incident_imports_as_provisional(manager):
    incident = log(manager)
    out = io.StringIO()
    export_incidents(start=T0.date(), end=T0.date() + timedelta(days=1), stream=out)
    Incident.objects.filter(pk=incident.pk).delete()
    with at(T0 + HOUR):
        import_incidents(stream=io.StringIO(out.getvalue()), user=manager)
    imported = Incident.objects.get(number=incident.number)
    assert (imported.severity, imported.severity_provisional) == ("S3", True)
    assert imported.response_due_at == T0 + 4 * HOUR


# --- the API ---------------------------------------------------------------------------------------------


def test_the_api_takes_the_callers_urgency_and_impact_and_shows_provisional(api_as, outsider):
    """A researcher (no role) logs through the API: nobody classified it, yet its clock runs."""
    client = api_as(outsider)
    response = client.post(
        "/api/v1/incidents/", {"title": "Feed down", "urgency": "high", "impact": "medium"}, format="json"
    )
    assert response.status_code == 201, response.data
    assert (response.data["severity"], response.data["severity_provisional"]) == ("S2", True)
    assert response.data["response_due_at"] is not None
    plain = client.post("/api/v1/incidents/", {"title": "Printer jam"}, format="json").data
    assert (plain["severity"], plain["severity_provisional"]) == ("S3", True)
    half = client.post("/api/v1/incidents/", {"title": "Half", "urgency": "high"}, format="json")
    assert half.status_code == 400 and "impact" in half.data["errors"]


def test_severity_provisional_is_read_only(api_as, manager):
    incident = log(manager)
    client = api_as(manager)
    response = client.patch(
        f"/api/v1/incidents/{incident.number}/", {"severity_provisional": False}, format="json"
    )
    assert response.status_code == 400
    assert "severity_provisional" in response.data["errors"]
    incident.refresh_from_db()
    assert incident.severity_provisional
