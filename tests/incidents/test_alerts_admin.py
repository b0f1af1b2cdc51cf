"""The admin of alert intake: a source's token is shown once (on creation, on reissue), payloads are a
read-only debugging list, and an incident raised by monitoring shows its alert."""

import json
import re

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from incidents.choices import PayloadStatus
from incidents.models import AlertPayload, AlertSource, Incident
from tests.factories import ServiceFactory, incident_in
from tests.incidents.alerting import ALERTMANAGER_URL, alertmanager_payload, make_source, post

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:incidents_alertsource_add")
PAYLOADS_URL = reverse("admin:incidents_alertpayload_changelist")


def token_on(page) -> str:
    return re.search(r'id="alert-source-token">([^<]+)<', page.content.decode()).group(1)


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def test_a_new_source_shows_its_token_once_and_the_token_works(manager_client):
    response = manager_client.post(
        ADD_URL,
        {
            "name": "Prometheus",
            "slug": "prometheus",
            "kind": "alertmanager",
            "is_active": "on",
            "default_category": "infrastructure",
            "default_incident_type": "infrastructure_other",
            "service_label": "service",
            "severity_label": "severity",
            "severity_map": json.dumps({"critical": ["high", "high"]}),
            "default_urgency": "medium",
            "default_impact": "medium",
            "grouping": "group",
            "reopen_window": "01:00:00",
        },
    )
    assert response.status_code == 200, response.content
    token = token_on(response)
    assert "not be shown again" in response.content.decode()
    source = AlertSource.objects.get(slug="prometheus")
    assert source.account is not None and source.token_hint == token[:6]
    assert post(ALERTMANAGER_URL, alertmanager_payload(), token).status_code == 200

    change = manager_client.get(reverse("admin:incidents_alertsource_change", args=[source.pk]))
    assert token not in change.content.decode()  # never again
    assert f"{token[:6]}…" in change.content.decode()


def test_the_severity_map_is_checked(manager_client):
    response = manager_client.post(
        ADD_URL,
        {
            "name": "Broken",
            "slug": "broken",
            "kind": "alertmanager",
            "default_category": "infrastructure",
            "default_incident_type": "infrastructure_other",
            "service_label": "service",
            "severity_label": "severity",
            "severity_map": json.dumps({"critical": ["extreme", "high"]}),
            "default_urgency": "medium",
            "default_impact": "medium",
        },
    )
    assert response.status_code == 200
    assert "expected [urgency, impact]" in strip_tags(response.content.decode())
    assert not AlertSource.objects.exists()


def test_issuing_a_new_token_asks_first_then_replaces_the_old_one(manager_client):
    source, old = make_source("Prometheus")
    url = reverse("admin:incidents_alertsource_token", args=[source.pk])
    change = manager_client.get(reverse("admin:incidents_alertsource_change", args=[source.pk]))
    assert url in change.content.decode()

    confirm = manager_client.get(url)
    assert "stops working" in confirm.content.decode()
    assert post(ALERTMANAGER_URL, alertmanager_payload(), old).status_code == 200  # nothing changed yet

    new = token_on(manager_client.post(url))
    assert new != old
    assert post(ALERTMANAGER_URL, alertmanager_payload(), old).status_code == 401
    assert post(ALERTMANAGER_URL, alertmanager_payload(), new).status_code == 200


def test_only_incident_managers_see_alert_sources(client, service_desk):
    source, _ = make_source("Prometheus")
    client.force_login(service_desk)
    assert client.get(reverse("admin:incidents_alertsource_token", args=[source.pk])).status_code == 403
    assert client.get(reverse("admin:incidents_alertsource_changelist")).status_code == 403
    assert client.get(PAYLOADS_URL).status_code == 403


def test_sources_are_revoked_not_deleted(manager_client):
    source, _ = make_source("Prometheus")
    assert (
        manager_client.get(reverse("admin:incidents_alertsource_delete", args=[source.pk])).status_code == 403
    )


def test_payloads_are_listed_read_only_with_status_and_source_filters(manager_client):
    ServiceFactory(name="Ceph storage", slug="ceph")
    source, token = make_source("Prometheus")
    post(ALERTMANAGER_URL, alertmanager_payload(), token)
    post(ALERTMANAGER_URL, b'{"alerts": [{"status": "burning"}]}', token)

    rejected = manager_client.get(PAYLOADS_URL, {"status__exact": "rejected", "source__id__exact": source.pk})
    assert rejected.status_code == 200
    assert list(rejected.context["cl"].result_list) == list(AlertPayload.objects.filter(status="rejected"))

    accepted = AlertPayload.objects.get(status=PayloadStatus.ACCEPTED)
    page = manager_client.get(reverse("admin:incidents_alertpayload_change", args=[accepted.pk]))
    text = page.content.decode()
    assert "CephOSDDown" in text and Incident.objects.get().number in text
    assert 'name="_save"' not in text  # read-only
    assert manager_client.get(reverse("admin:incidents_alertpayload_add")).status_code == 403


def test_the_incident_page_shows_the_alert_behind_it(manager_client, manager):
    ServiceFactory(name="Ceph storage", slug="ceph")
    _, token = make_source("Prometheus")
    post(ALERTMANAGER_URL, alertmanager_payload(), token)
    post(ALERTMANAGER_URL, alertmanager_payload(), token)
    incident = Incident.objects.get()

    page = manager_client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Monitoring alert" in text and "3c1c5e0fa4a4f1f2" in text
    assert "ceph_daemon" in text and "osd.7" in text
    assert 'href="http://prometheus.lab:9090/graph?g0.expr=ceph_osd_up+%3D%3D+0&amp;g0.tab=1"' in text
    assert re.search(r"2 reports of 1 alert \(first", strip_tags(text))

    by_hand = incident_in("logged", manager=manager)
    other = manager_client.get(reverse("admin:incidents_incident_change", args=[by_hand.pk]))
    assert "Monitoring alert" not in other.content.decode()


@pytest.mark.parametrize("window", ["-00:05:00", "8 00:00:00"])
def test_a_reopen_window_outside_0_to_7_days_is_refused(manager_client, window):
    source, _ = make_source("Prometheus")
    page = manager_client.get(reverse("admin:incidents_alertsource_change", args=[source.pk]))
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data.update({"reopen_window": window, "severity_map": json.dumps(source.severity_map), "is_active": "on"})
    data.pop("reopen_when_still_firing", None)
    data.pop("auto_resolve", None)
    response = manager_client.post(reverse("admin:incidents_alertsource_change", args=[source.pk]), data)
    assert response.status_code == 200
    assert "Between 0 and 7 days." in response.content.decode()
    source.refresh_from_db()
    assert source.reopen_window.total_seconds() == 3600
