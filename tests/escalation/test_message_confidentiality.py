"""Messages keep what their readers may not see out of them: a message about an incident reaches only the
people who may see it; a security incident's automatic messages reach no outside address; internal work
notes appear only when every reader may read them."""

import pytest

from escalation import services
from escalation.choices import Template
from escalation.models import Notification
from incidents import services as incident_services
from incidents.choices import Role
from tests.factories import ServiceFactory, make_user

pytestmark = pytest.mark.django_db
NOTE = "forensic image at /srv/evidence"


@pytest.fixture
def people(reference_data):
    return {
        "manager": make_user(Role.INCIDENT_MANAGERS, username="duty-manager"),
        "desk": make_user(Role.SERVICE_DESK, username="desk"),
        "boss": make_user(Role.MANAGEMENT, username="boss"),
        "sasha": make_user(Role.SECURITY_TEAM, username="sasha"),
        "vendor": make_user(Role.EXTERNAL, username="vendor"),
    }


def logged(people, *, category, title, stakeholders=""):
    service = ServiceFactory(stakeholder_emails=stakeholders)
    incident = incident_services.incident_create(user=people["manager"], title=title, service=service)
    incident = incident_services.incident_classify(
        incident=incident, user=people["manager"], category=category, urgency="low", impact="low"
    )
    incident_services.comment_add(incident=incident, user=people["manager"], body=NOTE)
    return incident


def sent(incident, template):
    return {n.recipient: n for n in Notification.objects.filter(incident=incident, template=template)}


def test_a_message_about_a_security_incident_reaches_only_those_who_may_see_it(people):
    breach = logged(people, category="security", title="Rootkit on the login node")
    everyone = [people[name] for name in ("desk", "boss", "sasha", "vendor", "manager")]
    services.notify(incident=breach, template=Template.ESCALATION, users=everyone, emails=["ops@lab.example"])
    messages = sent(breach, Template.ESCALATION)
    assert set(messages) == {"sasha@lab.example", "duty-manager@lab.example"}
    assert NOTE in messages["sasha@lab.example"].body  # both read internal work notes


def test_a_serious_security_incident_tells_no_stakeholder_list(people):
    service = ServiceFactory(stakeholder_emails="astro@lab.example")
    breach = incident_services.incident_create(
        user=people["manager"], title="Data exfiltration", service=service
    )
    incident_services.incident_classify(
        incident=breach, user=people["manager"], category="security", urgency="high", impact="medium"
    )
    assert sent(breach, Template.INCIDENT_NOTIFICATION) == {}

    ordinary = incident_services.incident_create(user=people["manager"], title="Ceph slow", service=service)
    incident_services.incident_classify(
        incident=ordinary, user=people["manager"], category="infrastructure", urgency="high", impact="medium"
    )
    assert set(sent(ordinary, Template.INCIDENT_NOTIFICATION)) == {"astro@lab.example"}


def test_stakeholders_get_public_updates_only(people):
    incident = logged(people, category="infrastructure", title="Ceph slow", stakeholders="astro@lab.example")
    incident_services.comment_add(
        incident=incident, user=people["manager"], body="We are rebalancing the pool.", visibility="public"
    )
    services.send_status_update(incident=incident, user=people["manager"], message="Back within the hour")
    update = sent(incident, Template.STATUS_UPDATE)["astro@lab.example"]
    assert "We are rebalancing the pool." in update.body and NOTE not in update.body
    assert NOTE not in update.html_body


def test_staff_messages_hold_internal_notes_only_when_every_reader_may_read_them(people):
    incident = logged(people, category="infrastructure", title="RAID controller fault")
    incident_services.incident_investigate(incident=incident, user=people["manager"])
    incident = services.escalate_tier(
        incident=incident, user=people["manager"], reason="vendor kit", tier="external"
    )

    staff_only = services.notify(incident=incident, template=Template.ESCALATION, users=[people["desk"]])
    with_vendor = services.notify(
        incident=incident, template=Template.ESCALATION, users=[people["desk"], people["vendor"]]
    )
    assert [n.recipient for n in staff_only] == ["desk@lab.example"]
    assert NOTE in staff_only[0].body
    assert {n.recipient for n in with_vendor} == {"desk@lab.example", "vendor@lab.example"}
    assert all(NOTE not in n.body for n in with_vendor)
