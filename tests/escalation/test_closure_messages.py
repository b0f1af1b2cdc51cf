"""The caller's messages (issue 10, items 3 and 4): the Fix confirmation request at resolve, with links that
never go to webhooks; the Resolution Notice ("confirmation of incident closure") at close, to the caller and
the stakeholders; status updates to the caller rather than to whoever typed the incident in."""

import re

import pytest
from django.urls import reverse

from escalation import services
from escalation.models import Notification, Webhook
from incidents import services as incident_services
from incidents.choices import State
from tests.factories import ServiceFactory, incident_in, make_user

pytestmark = pytest.mark.django_db

CONTACT = {"caller_name": "Bo Lind", "caller_email": "bo@uni.example"}


def recipients(incident, template):
    return set(
        Notification.objects.filter(incident=incident, template=template, channel="email").values_list(
            "recipient", flat=True
        )
    )


def test_resolving_asks_the_caller_and_no_one_else_and_no_webhook(manager):
    Webhook.objects.create(name="mattermost", url="https://chat.lab.example/hooks/x")
    service = ServiceFactory(stakeholder_emails="stake@lab.example")
    incident = incident_in(
        State.RESOLVED, manager=manager, urgency="low", impact="low", service=service, **CONTACT
    )
    requests = Notification.objects.filter(incident=incident, template="closure_request")
    assert [(n.channel, n.recipient) for n in requests] == [("email", "bo@uni.example")]
    request = requests.get()
    assert request.subject == f"Is it fixed? {incident.number} {incident.title}"
    assert "Hello Bo Lind" in request.body and "/confirm/" in request.body and "/not-fixed/" in request.body
    assert "/confirm/" in request.html_body and "/admin/" not in request.body
    assert not recipients(incident, "resolution_notice")  # that one waits for the closure


def test_nobody_named_nobody_asked(manager):
    incident = incident_in(State.RESOLVED, manager=manager, urgency="low", impact="low")
    assert not Notification.objects.filter(incident=incident, template="closure_request").exists()


def test_the_resolution_notice_goes_out_at_close_to_the_caller_and_the_stakeholders(manager):
    desk = make_user("Service Desk", username="desk", email="desk@lab.example")
    service = ServiceFactory(stakeholder_emails="stake@lab.example")
    incident = incident_services.incident_create(user=desk, title="VPN drops", service=service, **CONTACT)
    incident = incident_in_resolved(incident, manager)
    incident_services.incident_close(incident=incident, user=manager, closure_notes="Verified with Bo.")
    assert recipients(incident, "resolution_notice") == {"bo@uni.example", "stake@lab.example"}
    notice = Notification.objects.filter(incident=incident, template="resolution_notice").first()
    assert notice.subject.startswith("Closed: ") and "closed by staff" in notice.body


def test_a_security_incidents_caller_is_still_asked(manager):
    incident = incident_services.incident_create(user=manager, title="Phishing mail opened", **CONTACT)
    incident_services.incident_classify(
        incident=incident, user=manager, category="security", urgency="low", impact="low"
    )
    incident = incident_in_resolved(incident, manager, classified=True)
    assert recipients(incident, "closure_request") == {"bo@uni.example"}


def test_status_updates_go_to_the_caller_not_to_the_desk_that_logged_it(manager):
    desk = make_user("Service Desk", username="desk", email="desk@lab.example")
    ana = make_user(username="ana", email="ana@lab.example", is_staff=False)
    service = ServiceFactory(stakeholder_emails="stake@lab.example")
    incident = incident_services.incident_create(user=desk, title="VPN drops", service=service, caller=ana)
    services.send_status_update(incident=incident, user=manager, message="Working on the VPN concentrator.")
    assert recipients(incident, "status_update") == {"ana@lab.example", "stake@lab.example"}


def incident_in_resolved(incident, manager, classified=False):
    if not classified:
        incident = incident_services.incident_classify(
            incident=incident, user=manager, category="infrastructure", urgency="low", impact="low"
        )
    incident = incident_services.incident_investigate(incident=incident, user=manager)
    for item in incident.checklist.filter(required=True):
        incident_services.checklist_item_done(item=item, user=manager)
    return incident_services.incident_resolve(incident=incident, user=manager, code="fixed", notes="Fixed")


def test_staff_read_the_request_in_the_outbox_without_its_working_links(client, manager):
    incident = incident_in(State.RESOLVED, manager=manager, urgency="low", impact="low", **CONTACT)
    request = Notification.objects.get(incident=incident, template="closure_request")
    token = re.search(r"/confirm/([^/\s]+)/", request.body).group(1)
    client.force_login(manager)
    page = client.get(reverse("admin:escalation_notification_change", args=[request.pk])).content.decode()
    assert "Is it fixed?" in page and "/confirm/…/" in page
    assert token not in page
