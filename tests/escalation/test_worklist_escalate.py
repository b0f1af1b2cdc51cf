"""*Escalate to the next tier* on the incident list (issue #9, item 2): the escalation app adds it to the
incident admin it extends; one reason for all, `escalate_tier` per incident, a report of each refusal."""

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from escalation import services
from escalation.models import EscalationEvent
from incidents.choices import State, Tier
from incidents.models import Incident
from tests.factories import incident_in

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:incidents_incident_changelist")


def escalate(client, incidents, follow=True, **data):
    body = {
        "action": "escalate_to_next_tier",
        "index": 0,
        helpers.ACTION_CHECKBOX_NAME: [str(i.pk) for i in incidents],
        **data,
    }
    return client.post(CHANGELIST_URL, body, follow=follow)


def test_escalate_asks_for_a_reason_then_escalates_each_and_reports_refusals(client, manager, service_desk):
    at_tier1 = incident_in(State.INVESTIGATING, manager=manager, urgency="low", impact="low")
    at_external = incident_in(State.INVESTIGATING, manager=manager, urgency="low", impact="low")
    services.escalate_tier(incident=at_external, user=manager, reason="vendor hardware", tier=Tier.EXTERNAL)
    client.force_login(service_desk)

    page = escalate(client, [at_tier1, at_external], follow=False)
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    assert at_tier1.number in page.content.decode()
    again = escalate(client, [at_tier1, at_external], follow=False, apply="1", reason=" ")
    assert again.status_code == 200 and "This field is required" in again.content.decode()
    assert Incident.objects.get(pk=at_tier1.pk).tier == Tier.TIER1

    done = escalate(client, [at_tier1, at_external], apply="1", reason="needs a sysadmin")
    shown = [str(m) for m in done.context["messages"]]
    assert f"Escalated to the next tier: {at_tier1.number}." in shown
    assert any(m.startswith(f"{at_external.number}: ") and "no higher tier" in m for m in shown)
    assert Incident.objects.get(pk=at_tier1.pk).tier == Tier.TIER2
    event = EscalationEvent.objects.get(incident=at_tier1, kind="functional")
    assert (event.reason, event.actor) == ("needs a sysadmin", service_desk)


def test_only_roles_that_escalate_are_offered_it(client, manager, management, service_desk):
    client.force_login(service_desk)
    choices = client.get(CHANGELIST_URL).context["action_form"].fields["action"].choices
    assert "escalate_to_next_tier" in {name for name, _ in choices}
    client.force_login(management)
    assert client.get(CHANGELIST_URL).context["action_form"] is None
    incident = incident_in(State.INVESTIGATING, manager=manager, urgency="low", impact="low")
    escalate(client, [incident], apply="1", reason="drive-by")
    assert Incident.objects.get(pk=incident.pk).tier == Tier.TIER1
