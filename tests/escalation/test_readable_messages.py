"""Readable messages: subjects that say what happened (two level-1 escalations never read alike), timeline
lines without doubled words, the alert's own links on pages and escalations, and mail sent from the
configured DEFAULT_FROM_EMAIL. Messages are written by the real escalation services, at known moments."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from escalation import services
from escalation.choices import Template
from escalation.models import EscalationStep, Notification
from incidents import alerts
from incidents import services as incident_services
from incidents.choices import Clock, EventKind, Role, State
from incidents.models import Incident, TimelineEvent
from incidents.timeline import event_note, event_summary
from tests.factories import ServiceFactory, make_user
from tests.incidents.alerting import GENERATOR_URL, alertmanager_payload, make_source

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
RUNBOOK = "https://wiki.lab/runbooks/ceph-osd-down"


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def staff(db):
    return {
        "manager": make_user(Role.INCIDENT_MANAGERS, username="im", email="im@lab.example"),
        "desk": make_user(Role.SERVICE_DESK, username="desk1", email="desk1@lab.example"),
        "sysadmin": make_user(Role.SYSADMINS, username="sys1", email="sys1@lab.example"),
        "boss": make_user(Role.MANAGEMENT, username="boss", email="boss@lab.example"),
    }


def s2_incident(manager, *, title="Portal slow", when=T0) -> Incident:
    """Classified S2 at `when` (urgency high x impact medium): respond in 30 min, resolve in 8 h."""
    with at(when):
        incident = incident_services.incident_create(
            user=manager, title=title, service=ServiceFactory(slug="portal", name="Portal")
        )
        return incident_services.incident_classify(
            incident=incident, user=manager, category="application", urgency="high", impact="medium"
        )


def subjects(incident, template=Template.ESCALATION) -> list[str]:
    rows = Notification.objects.filter(incident=incident, template=template, channel="email")
    return list(dict.fromkeys(rows.order_by("pk").values_list("subject", flat=True)))


# --- subjects ---------------------------------------------------------------------------------------------


def test_response_missed_and_half_the_resolution_time_read_differently(staff):
    incident = s2_incident(staff["manager"])
    with at(T0 + timedelta(minutes=31)):
        services.sweep()  # response clock at 100%: level 1
    with at(T0 + timedelta(hours=4, minutes=1)):
        services.sweep()  # resolution clock at 50%: level 1 too

    assert subjects(incident) == [
        f"[S2] Response target missed: {incident.number} Portal slow (level 1)",
        f"[S2] 50% of resolution time used: {incident.number} Portal slow (level 1)",
    ]
    body = Notification.objects.filter(incident=incident, template=Template.ESCALATION).order_by("pk")[0].body
    assert body.startswith("RESPONSE TARGET MISSED (LEVEL 1)")


def test_later_steps_say_how_far_the_resolution_clock_has_run(staff):
    incident = s2_incident(staff["manager"])
    with at(T0 + timedelta(minutes=5)):
        incident_services.incident_investigate(incident=incident, user=staff["desk"])
    with at(T0 + timedelta(hours=8, minutes=1)):
        services.sweep()  # 50% (level 1), 75% (level 2) and 100% (level 3), all due by now

    assert subjects(incident) == [
        f"[S2] 50% of resolution time used: {incident.number} Portal slow (level 1)",
        f"[S2] 75% of resolution time used: {incident.number} Portal slow (level 2)",
        f"[S2] Resolution target missed: {incident.number} Portal slow (level 3)",
    ]


def test_a_long_title_is_shortened_so_the_level_stays_in_the_subject(staff):
    title = "Portal answers 502 for every page " + "x" * 166  # 200 characters, the most a title holds
    incident = s2_incident(staff["manager"], title=title)
    # A policy may fire far past the target: the longest headline there is, with the longest title.
    step = EscalationStep(clock=Clock.RESOLUTION, percent=1000, level=3)

    subject, _text, _html = services.render(
        template=Template.ESCALATION, incident=incident, extra={"level": 3, "step": step}
    )

    assert len(subject) == Notification._meta.get_field("subject").max_length
    assert subject.startswith(
        f"[S2] Resolution target missed, 1000% of the time used: {incident.number} Portal answers 502"
    )
    assert subject.endswith("… (level 3)")


def test_functional_escalation_names_the_tier_it_went_to(staff):
    incident = s2_incident(staff["manager"])
    with at(T0 + timedelta(minutes=10)):
        services.escalate_tier(incident=incident, user=staff["desk"], reason="Needs a sysadmin")

    assert subjects(incident) == [
        f"[S2] Escalated to Tier 2 (System Administrators): {incident.number} Portal slow"
    ]
    row = Notification.objects.get(incident=incident, template=Template.ESCALATION, channel="email")
    assert row.recipient == "sys1@lab.example"
    assert "Escalation level" not in row.subject and "Escalation level" not in row.html_body


# --- timeline lines ---------------------------------------------------------------------------------------


def event(kind, note="", **fields) -> TimelineEvent:
    return TimelineEvent(kind=kind, note=note, **fields)


@pytest.mark.parametrize(
    ("entry", "summary", "beside_its_kind"),
    [
        (event(EventKind.CREATED, "Logged: pve-07 down"), "Logged: pve-07 down", "pve-07 down"),
        (event(EventKind.CREATED, "Imported from CSV"), "Logged: Imported from CSV", "Imported from CSV"),
        (
            event(
                EventKind.TRANSITION,
                "Checking the PSU",
                transition="investigate",
                from_state=State.CLASSIFIED,
                to_state=State.INVESTIGATING,
            ),
            "Classified → Investigating: Checking the PSU",
            "Checking the PSU",
        ),
        (
            event(
                EventKind.TRANSITION,
                transition="classify",
                from_state=State.CLASSIFIED,
                to_state=State.CLASSIFIED,
            ),
            "Reclassified",
            "",
        ),
        (event(EventKind.SEVERITY, "Severity S3 → S2"), "Severity S3 → S2", "Severity S3 → S2"),
        (event(EventKind.ASSIGNMENT, "Assigned to ana"), "Assigned to ana", "Assigned to ana"),
        (
            event(EventKind.MONITORING, "Monitoring reports recovery."),
            "Monitoring reports recovery.",
            "Monitoring reports recovery.",
        ),
        (
            event(EventKind.ESCALATION, "Level 1 escalation: response clock at 100%."),
            "Level 1 escalation: response clock at 100%.",
            "Level 1 escalation: response clock at 100%.",
        ),
        (event(EventKind.COMMENT, "Looking at it"), "Comment: Looking at it", "Looking at it"),
        (event(EventKind.CHECKLIST, "Check the PSU"), "Checklist step done: Check the PSU", "Check the PSU"),
    ],
)
def test_each_kind_of_timeline_entry_reads_each_word_once(entry, summary, beside_its_kind):
    assert event_summary(entry) == summary
    assert event_note(entry) == beside_its_kind


def test_messages_timeline_never_doubles_a_word(staff):
    incident = s2_incident(staff["manager"], title="Ceph OSD down")
    with at(T0 + timedelta(minutes=5)):
        incident_services.incident_investigate(incident=incident, user=staff["desk"])
        incident_services.comment_add(incident=incident, user=staff["desk"], body="Looking at it")

    _subject, text, html = services.render(template=Template.STATUS_UPDATE, incident=incident, internal=True)

    for body in (text, html):
        assert "Logged: Ceph OSD down" in body
        assert "Logged: Logged" not in body
        assert "Severity change: Severity" not in body
        assert "Assignment: Assigned" not in body
        assert "Classified → Investigating" in body
        assert "Comment: Looking at it" in body


def test_the_admin_timeline_shows_the_logging_note_once(client, staff):
    incident = s2_incident(staff["manager"], title="Ceph OSD down")
    client.force_login(staff["manager"])

    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()

    assert "Logged: Ceph OSD down" not in page
    assert "Ceph OSD down" in page


# --- the alert's links on pages and escalations -----------------------------------------------------------


@pytest.fixture
def alert_incident(staff):
    """An S1 incident raised by Alertmanager (CephOSDDown, with its generatorURL and runbook_url): major at
    once, so the emergency team is paged."""
    ServiceFactory(slug="ceph", name="Ceph storage")
    source, _token = make_source("Prometheus")
    with at(T0):
        result = alerts.alert_receive(
            source=source, payload_bytes=json.dumps(alertmanager_payload("firing")).encode()
        )
    return Incident.objects.get(number=result.incidents[0])


def test_the_page_carries_the_alerts_source_and_runbook_links(alert_incident):
    rows = Notification.objects.filter(incident=alert_incident, template=Template.PAGE, channel="email")
    assert rows.exists()
    for row in rows:
        assert f"Alert source: {GENERATOR_URL}" in row.body
        assert f"Runbook: {RUNBOOK}" in row.body
        assert f'<a href="{GENERATOR_URL.replace("&", "&amp;")}">Alert source</a>' in row.html_body
        assert f'<a href="{RUNBOOK}">Runbook</a>' in row.html_body


@pytest.mark.parametrize("template", [Template.SECURITY_PAGE, Template.ESCALATION])
def test_security_pages_and_escalations_carry_them_too(alert_incident, template):
    _subject, text, html = services.render(template=template, incident=alert_incident, extra={"reason": "x"})
    assert f"Alert source: {GENERATOR_URL}" in text and f"Runbook: {RUNBOOK}" in text
    assert f'<a href="{RUNBOOK}">Runbook</a>' in html


def test_no_alert_no_links_and_a_link_that_is_no_web_address_is_not_offered(alert_incident, staff):
    alert = alert_incident.alert
    alert.annotations = {**alert.annotations, "runbook_url": "javascript:alert(1)"}
    alert.save(update_fields=["annotations"])
    _subject, text, html = services.render(
        template=Template.PAGE, incident=alert_incident, extra={"reason": "x"}
    )
    assert "Runbook" not in text and "javascript:" not in html
    assert f"Alert source: {GENERATOR_URL}" in text

    plain = s2_incident(staff["manager"])
    _subject, text, html = services.render(template=Template.PAGE, incident=plain, extra={"reason": "x"})
    assert "Alert source" not in text and "Runbook" not in text and "Alert source" not in html


# --- the sender -------------------------------------------------------------------------------------------


def test_mail_is_sent_from_the_configured_address(settings, staff):
    settings.DEFAULT_FROM_EMAIL = "itsm@lab.example"
    incident = s2_incident(staff["manager"])
    with at(T0 + timedelta(minutes=10)):
        services.escalate_tier(incident=incident, user=staff["desk"], reason="Needs a sysadmin")
    row = Notification.objects.get(incident=incident, template=Template.ESCALATION, channel="email")

    assert services.deliver(notification_id=row.pk)[0] == "sent"

    (message,) = mail.outbox
    assert message.from_email == "itsm@lab.example"
    assert message.subject == row.subject
