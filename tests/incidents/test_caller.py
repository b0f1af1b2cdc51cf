"""The caller (issue 10, item 3): the person affected, a lab user's account or a contact without a login,
named when someone logs an incident on their behalf (admin, API, CSV); the reporter, who typed it in, stays
separate. A caller with an account sees their incident like a reporter does."""

import csv
import io
from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import selectors, services
from incidents.alerts import alert_source_account
from incidents.choices import EventKind, Role, State
from incidents.csv_io import COLUMNS, OPTIONAL_COLUMNS, export_incidents, import_incidents
from incidents.exceptions import ValidationError
from incidents.models import AlertSource, Incident
from tests.factories import incident_in, make_user
from tests.incidents.admin_forms import change_form_data

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:incidents_incident_add")


def change_url(incident):
    return reverse("admin:incidents_incident_change", args=[incident.pk])


@pytest.fixture
def ana(db):
    """A researcher: a lab account without a support role."""
    return make_user(
        username="ana", first_name="Ana", last_name="Ruiz", email="ana@lab.example", is_staff=False
    )


# --- who the caller is ------------------------------------------------------------------------------------


def test_the_desk_logging_for_a_contact_stays_the_reporter(service_desk):
    incident = services.incident_create(
        user=service_desk, title="VPN drops", caller_name=" Bo Lind ", caller_email="bo@uni.example"
    )
    assert incident.reporter == service_desk
    assert (incident.caller, incident.caller_name, incident.caller_email) == (
        None,
        "Bo Lind",
        "bo@uni.example",
    )
    contact = selectors.incident_caller(incident)
    assert (contact.user, contact.name, contact.email) == (None, "Bo Lind", "bo@uni.example")


def test_an_address_of_an_active_account_links_that_account(service_desk, ana):
    incident = services.incident_create(
        user=service_desk, title="VPN drops", caller_name="Ana", caller_email="ANA@lab.example"
    )
    assert (incident.caller, incident.caller_name, incident.caller_email) == (ana, "", "")
    assert selectors.incident_caller(incident).user == ana


def test_an_address_of_an_inactive_account_stays_a_contact(service_desk):
    make_user(username="gone", email="gone@lab.example", is_active=False)
    incident = services.incident_create(
        user=service_desk, title="VPN drops", caller_name="Gone", caller_email="gone@lab.example"
    )
    assert (incident.caller, incident.caller_email) == (None, "gone@lab.example")


def test_a_lab_user_logging_their_own_incident_is_its_caller(ana):
    incident = services.incident_create(user=ana, title="Jupyter kernel dies")
    assert incident.reporter == incident.caller == ana


def test_staff_naming_nobody_leave_the_caller_empty(service_desk, manager):
    for user in (service_desk, manager):
        incident = services.incident_create(user=user, title="Ceph OSD down")
        assert (incident.reporter, incident.caller, incident.caller_email) == (user, None, "")
        assert selectors.incident_caller(incident) is None


def test_an_alert_sources_account_is_never_a_caller(service_desk):
    source = AlertSource.objects.create(name="Prometheus", slug="prometheus")
    account = alert_source_account(source=source)
    incident = services.incident_create(user=account, title="OSD down", source="monitoring")
    assert (incident.reporter, incident.caller) == (account, None)
    with pytest.raises(ValidationError) as caught:
        services.incident_create(user=service_desk, title="OSD down", caller=account)
    assert set(caught.value.message_dict) == {"caller"}


@pytest.mark.parametrize(
    ("given", "fields"),
    [
        ({"caller_name": "Bo"}, {"caller_email"}),
        ({"caller_email": "bo@uni.example"}, {"caller_name"}),
        ({"caller_name": "Bo", "caller_email": "not an address"}, {"caller_email"}),
        ({"caller_name": "Bo\r\nBcc: all@lab.example", "caller_email": "bo@uni.example"}, {"caller_name"}),
        ({"caller_name": "B" * 151, "caller_email": "bo@uni.example"}, {"caller_name"}),
    ],
)
def test_a_contact_needs_a_one_line_name_and_a_valid_address(service_desk, given, fields):
    with pytest.raises(ValidationError) as caught:
        services.incident_create(user=service_desk, title="VPN drops", **given)
    assert set(caught.value.message_dict) == fields
    assert not Incident.objects.exists()


def test_an_account_and_a_contact_together_or_an_inactive_account_are_refused(service_desk, ana):
    with pytest.raises(ValidationError) as caught:
        services.incident_create(user=service_desk, title="x", caller=ana, caller_email="bo@uni.example")
    assert set(caught.value.message_dict) == {"caller"}
    ana.is_active = False
    ana.save()
    with pytest.raises(ValidationError) as caught:
        services.incident_create(user=service_desk, title="x", caller=ana)
    assert caught.value.message_dict == {"caller": ["The caller's account is inactive."]}


def test_editing_the_caller_replaces_an_account_by_a_contact_and_back(service_desk, ana):
    incident = services.incident_create(user=service_desk, title="VPN drops", caller=ana)
    incident = services.incident_update(
        incident=incident, user=service_desk, data={"caller_name": "Bo", "caller_email": "bo@uni.example"}
    )
    assert (incident.caller, incident.caller_name, incident.caller_email) == (None, "Bo", "bo@uni.example")
    incident = services.incident_update(incident=incident, user=service_desk, data={"caller": ana})
    assert (incident.caller, incident.caller_name, incident.caller_email) == (ana, "", "")
    with pytest.raises(ValidationError):
        services.incident_update(incident=incident, user=service_desk, data={"caller_email": "nope"})
    edits = incident.timeline.filter(kind=EventKind.UPDATE).order_by("pk").values_list("data", flat=True)
    assert [set(edit["fields"]) for edit in edits] == [{"caller", "caller_name", "caller_email"}] * 2


# --- who sees it ------------------------------------------------------------------------------------------


def test_a_caller_with_an_account_sees_their_incident_like_a_reporter(api_as, service_desk, ana):
    mine = services.incident_create(user=service_desk, title="My VPN drops", caller=ana)
    other = services.incident_create(user=service_desk, title="Someone else's")
    client = api_as(ana)
    numbers = [row["number"] for row in client.get("/api/v1/incidents/").data["results"]]
    assert numbers == [mine.number]
    assert client.get(f"/api/v1/incidents/{mine.number}/").status_code == 200
    assert client.get(f"/api/v1/incidents/{other.number}/").status_code == 404
    assert selectors.may_see(ana, mine) and not selectors.may_see(ana, other)
    # they add public updates, as the reporter may
    response = client.post(
        f"/api/v1/incidents/{mine.number}/comments/",
        {"body": "Still down", "visibility": "public"},
        format="json",
    )
    assert response.status_code == 201


def test_the_query_and_the_python_rule_agree_for_callers(manager, service_desk, ana):
    """`visibility_q` and `may_see`, one rule in two forms: a caller sees their incident, a security one
    too (as its reporter would), and nobody else's."""
    sysadmin = make_user(Role.SYSADMINS, username="sam")  # no security permission
    vendor = make_user(Role.EXTERNAL, username="vendor")  # sees the external tier and their own only
    stranger = make_user(username="stranger", is_staff=False)
    security = services.incident_create(user=service_desk, title="Phishing", caller=sysadmin)
    services.incident_classify(
        incident=security, user=manager, category="security", urgency="low", impact="low"
    )
    plain = services.incident_create(user=service_desk, title="Printer", caller=vendor)
    contact = services.incident_create(
        user=service_desk, title="Wi-Fi", caller_name="Bo", caller_email="bo@uni.example"
    )
    ana_own = services.incident_create(user=ana, title="Jupyter")
    everything = [security, plain, contact, ana_own]
    expected = {
        ana: {ana_own},
        sysadmin: {security, plain, contact, ana_own},
        vendor: {plain},
        stranger: set(),
    }
    for user, seen in expected.items():
        queried = set(selectors.visible_incidents(user))
        in_python = {incident for incident in everything if selectors.may_see(user, incident)}
        assert queried == in_python == seen, user.username


# --- the API ----------------------------------------------------------------------------------------------


def test_the_api_logs_on_behalf_of_a_caller_and_shows_both(api_as, service_desk, ana):
    client = api_as(service_desk)
    by_account = client.post("/api/v1/incidents/", {"title": "VPN drops", "caller": "ana"}, format="json")
    assert by_account.status_code == 201
    assert (by_account.data["reporter"], by_account.data["caller"]) == ("desk", "ana")
    contact = {"title": "Wi-Fi", "caller_name": "Bo Lind", "caller_email": "bo@uni.example"}
    by_contact = client.post("/api/v1/incidents/", contact, format="json")
    assert by_contact.status_code == 201
    assert by_contact.data["caller"] is None
    assert (by_contact.data["caller_name"], by_contact.data["caller_email"]) == ("Bo Lind", "bo@uni.example")
    refused = client.post("/api/v1/incidents/", {"title": "x", "caller_name": "Bo"}, format="json")
    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"caller_email"}
    unknown = client.post("/api/v1/incidents/", {"title": "x", "caller": "nobody"}, format="json")
    assert unknown.status_code == 400 and set(unknown.json()["errors"]) == {"caller"}


def test_a_lab_user_names_only_themselves_as_the_caller(api_as, ana):
    """Naming a colleague would show them the incident and send them its messages; naming a contact would
    send mail to any address: a lab user may not do either."""
    colleague = make_user(username="lindqvist", is_staff=False, email="lindqvist@lab.example")
    client = api_as(ana)
    other = client.post("/api/v1/incidents/", {"title": "x", "caller": "lindqvist"}, format="json")
    assert other.status_code == 400 and set(other.json()["errors"]) == {"caller"}
    contact = {"title": "x", "caller_name": "Bob", "caller_email": "bob@ext.example"}
    outside = client.post("/api/v1/incidents/", contact, format="json")
    assert outside.status_code == 400 and set(outside.json()["errors"]) == {"caller_email"}
    assert not Incident.objects.exists()
    themselves = client.post("/api/v1/incidents/", {"title": "VPN drops", "caller": "ana"}, format="json")
    assert themselves.status_code == 201 and themselves.data["caller"] == "ana"
    assert not selectors.may_see(colleague, Incident.objects.get())


def test_the_api_edits_the_caller(api_as, service_desk, ana):
    incident = services.incident_create(user=service_desk, title="VPN drops", caller_email="ana@lab.example")
    assert incident.caller == ana
    client = api_as(service_desk)
    url = f"/api/v1/incidents/{incident.number}/"
    response = client.patch(url, {"caller_name": "Bo", "caller_email": "bo@uni.example"}, format="json")
    assert response.status_code == 200
    assert (response.data["caller"], response.data["caller_email"]) == (None, "bo@uni.example")
    response = client.patch(url, {"caller": "ana"}, format="json")
    assert (response.data["caller"], response.data["caller_name"], response.data["caller_email"]) == (
        "ana",
        "",
        "",
    )


# --- the admin --------------------------------------------------------------------------------------------


def test_the_log_incident_form_names_the_caller(client, service_desk):
    client.force_login(service_desk)
    form = client.get(ADD_URL).content.decode()
    assert 'name="caller_name"' in form and 'name="caller_email"' in form and 'name="caller"' in form
    response = client.post(
        ADD_URL,
        {
            "title": "VPN drops every 10 minutes",
            "source": "user",
            "detected_at_0": "",
            "detected_at_1": "",
            "caller_name": "Bo Lind",
            "caller_email": "bo@uni.example",
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert (incident.reporter, incident.caller_name, incident.caller_email) == (
        service_desk,
        "Bo Lind",
        "bo@uni.example",
    )
    refused = client.post(
        ADD_URL,
        {"title": "x", "source": "user", "detected_at_0": "", "detected_at_1": "", "caller_name": "Bo"},
    )
    assert refused.status_code == 200 and "it is how they are told about the fix" in refused.content.decode()
    assert Incident.objects.count() == 1


def test_the_incident_page_shows_and_edits_the_caller(client, service_desk, ana):
    incident = services.incident_create(
        user=service_desk, title="VPN drops", caller_name="Bo Lind", caller_email="bo@uni.example"
    )
    client.force_login(service_desk)
    page = client.get(change_url(incident))
    assert "bo@uni.example" in page.content.decode()
    client.post(
        change_url(incident), change_form_data(page, caller=str(ana.pk), caller_name="", caller_email="")
    )
    incident.refresh_from_db()
    assert (incident.caller, incident.caller_name, incident.caller_email) == (ana, "", "")


def test_the_caller_list_shows_the_lab_only_to_those_who_see_every_tier(client, service_desk, ana):
    vendor = make_user(Role.EXTERNAL, username="vendor", email="vendor@example.com")
    client.force_login(service_desk)
    assert "ana@lab.example" in client.get(ADD_URL).content.decode()
    client.force_login(vendor)  # logs incidents, but the lab's directory is not theirs to read
    form = client.get(ADD_URL)
    assert form.status_code == 200
    assert "ana@lab.example" not in form.content.decode() and "vendor@example.com" in form.content.decode()


# --- CSV --------------------------------------------------------------------------------------------------


def _row(**values):
    return {column: "" for column in COLUMNS} | {
        "title": "Old VPN outage",
        "state": "logged",
        "detected_at": "2026-01-05T09:00:00+00:00",
        "created_at": "2026-01-05T09:10:00+00:00",
        **values,
    }


def _csv(rows, columns=COLUMNS):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_csv_import_takes_the_caller_by_account_or_contact(manager, ana):
    rows = [
        _row(caller="ana"),
        _row(caller_name="Bo Lind", caller_email="bo@uni.example"),
        _row(caller_name="Ana", caller_email="ana@lab.example"),  # an account's address names it
    ]
    import_incidents(stream=io.StringIO(_csv(rows)), user=manager)
    stored = list(
        Incident.objects.order_by("number").values_list("caller__username", "caller_name", "caller_email")
    )
    assert stored == [("ana", "", ""), (None, "Bo Lind", "bo@uni.example"), ("ana", "", "")]


def test_csv_without_caller_columns_still_imports_and_bad_callers_are_row_errors(manager):
    old_file = [column for column in COLUMNS if column not in OPTIONAL_COLUMNS]
    result = import_incidents(stream=io.StringIO(_csv([_row()], columns=old_file)), user=manager)
    assert result.created == 1 and Incident.objects.get().caller_email == ""
    bad = [_row(caller="nobody"), _row(caller_name="Bo")]
    with pytest.raises(ValidationError) as caught:
        import_incidents(stream=io.StringIO(_csv(bad)), user=manager)
    assert [(e.row, e.field) for e in caught.value.row_errors] == [(2, "caller"), (3, "caller_email")]


def test_csv_export_writes_the_caller(service_desk, ana):
    services.incident_create(user=service_desk, title="A", caller=ana)
    services.incident_create(user=service_desk, title="B", caller_name="Bo", caller_email="bo@uni.example")
    out = io.StringIO()
    today = timezone.localdate()
    export_incidents(start=date(today.year - 1, 1, 1), end=date(today.year + 1, 1, 1), stream=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["caller"], r["caller_name"], r["caller_email"]) for r in rows] == [
        ("ana", "", ""),
        ("", "Bo", "bo@uni.example"),
    ]


def test_correcting_a_closed_record_keeps_or_corrects_its_caller(client, manager, ana):
    incident = incident_in(State.CLOSED, manager=manager, urgency="low", impact="low", caller=ana)
    url = reverse("admin:incidents_incident_correct", args=[incident.pk])
    client.force_login(manager)
    page = client.get(url)
    for name in ("caller", "caller_name", "caller_email"):  # shown, so a correction posts them back
        assert f'name="{name}"' in page.content.decode()
    client.post(url, change_form_data(page, change_ref="CHG-0042", reason="Change found later"))
    incident.refresh_from_db()
    assert (incident.change_ref, incident.caller) == ("CHG-0042", ana)
    contact = {"caller": "", "caller_name": "Bo", "caller_email": "bo@uni.example"}
    client.post(url, change_form_data(client.get(url), **contact, reason="Bo called, not Ana"))
    incident.refresh_from_db()
    assert (incident.caller, incident.caller_name, incident.caller_email) == (None, "Bo", "bo@uni.example")
