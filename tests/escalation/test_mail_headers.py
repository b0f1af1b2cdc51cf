"""No user text can break or extend an e-mail's headers. An incident stored before titles were checked may
hold CR/LF ("pve-07 down\r\nBcc: x@evil"): its mails, the emergency page included, still go out, with the
title on the subject's one line and no header of its own."""

import pytest
from django.core import mail

from escalation import services
from escalation.models import Notification
from incidents.choices import Role
from incidents.models import Incident
from tests.factories import ServiceFactory, incident_in, make_user

pytestmark = pytest.mark.django_db

LEGACY_TITLE = "pve-07 down\r\nBcc: x@evil"


def deliver_emails(incident) -> list[str]:
    rows = Notification.objects.filter(incident=incident, channel="email").order_by("pk")
    return [services.deliver(notification_id=row.pk)[0] for row in rows]


def assert_one_line_no_bcc(message):
    assert "\r" not in message.subject and "\n" not in message.subject
    assert "pve-07 down Bcc: x@evil" in message.subject
    assert message.bcc == [] and "x@evil" not in message.recipients()
    wire = message.message()
    assert wire["Bcc"] is None
    headers = wire.as_bytes().replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]  # the body may quote the title
    assert not any(line.lower().startswith(b"bcc:") for line in headers.splitlines())


def test_a_legacy_title_with_crlf_still_pages_and_notifies(manager):
    make_user(Role.SYSADMINS, username="oncall-sysadmin")  # paged: no rotation, so the whole group
    incident = incident_in(
        "investigating",
        manager=manager,
        urgency="low",
        impact="low",
        service=ServiceFactory(stakeholder_emails="ops@lab.example"),
    )
    Incident.objects.filter(pk=incident.pk).update(title=LEGACY_TITLE)  # as an old row would hold it
    incident.refresh_from_db()

    services.declare_major(incident=incident, user=manager, reason="Cluster-wide outage")

    statuses = deliver_emails(incident)
    assert statuses and set(statuses) == {"sent"}
    templates = set(Notification.objects.filter(incident=incident).values_list("template", flat=True))
    assert {"page", "incident_notification"} <= templates
    assert len(mail.outbox) == len(statuses)
    for message in mail.outbox:
        assert_one_line_no_bcc(message)
    assert any(m.subject.startswith("PAGE ") for m in mail.outbox)


def test_a_row_queued_with_a_broken_subject_is_delivered_clean(manager):
    """Rows written before subjects were made safe are cleaned when they are sent."""
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    [row] = services.notify(
        incident=incident, template="status_update", emails=["ops@lab.example"], extra={"message": "m"}
    )
    Notification.objects.filter(pk=row.pk).update(subject=f"[S4] Status update on {LEGACY_TITLE}")

    assert services.deliver(notification_id=row.pk) == ("sent", None)
    [message] = mail.outbox
    assert_one_line_no_bcc(message)
