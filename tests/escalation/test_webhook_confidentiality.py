"""Nothing about a security incident leaves through a webhook: its readers are outside the lab's roles."""

import json

import pytest

from escalation import services
from escalation.models import Notification, Webhook
from incidents import services as incident_services
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
EVENTS = ["incident.created", "incident.classified", "incident.state_changed", "notification"]


def deliver_pending():
    for pk in Notification.objects.filter(status="pending", channel="webhook").values_list("pk", flat=True):
        services.deliver(notification_id=pk)


def test_security_incidents_send_no_webhook_events(manager, receiver):
    Webhook.objects.create(name="chat", url=receiver["url"], secret="k", events=EVENTS)
    service = ServiceFactory(slug="login-node")
    ordinary = incident_services.incident_create(user=manager, title="Login node slow", service=service)
    breach = incident_services.incident_create(
        user=manager, title="Rootkit found", service=service, incident_type="malware"
    )
    # Known to be a security incident only at classification: its creation went out, nothing after it.
    odd = incident_services.incident_create(user=manager, title="Odd logins", service=service)
    for incident, category in ((breach, "security"), (odd, "security"), (ordinary, "infrastructure")):
        incident_services.incident_classify(
            incident=incident, user=manager, category=category, urgency="high", impact="medium"
        )
    deliver_pending()

    events = [json.loads(body) for _, body in receiver["received"]]
    text = json.dumps(events)
    assert ordinary.number in text
    assert breach.number not in text and "Rootkit" not in text
    assert not Notification.objects.filter(incident=breach, channel="webhook").exists()
    assert Notification.objects.filter(incident=odd, channel="webhook").count() == 1  # incident.created
