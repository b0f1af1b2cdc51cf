"""Message rules: who gets which template when, per severity. The defaults follow the process document;
Incident Managers change them in the admin through the service, and a change applies to the next message."""

from datetime import timedelta

import pytest
from django.urls import reverse

from escalation import services
from escalation.models import DigestItem, MessageRule, Notification
from incidents import services as incident_services
from incidents.choices import Role
from incidents.exceptions import PermissionDenied, ValidationError
from tests.factories import ServiceFactory, incident_in, make_user

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:escalation_messagerule_add")

# severity: (Incident Notification delivery, status-update reminder interval) — seed 5.2 and issue #10.
DEFAULTS = {
    "S1": ("immediate", timedelta(minutes=30)),
    "S2": ("immediate", timedelta(hours=1)),
    "S3": ("digest", None),
    "S4": ("digest", None),
}


def rule(severity, moment):
    return MessageRule.objects.get(severity=severity, moment=moment)


@pytest.mark.parametrize("severity", DEFAULTS)
def test_the_defaults_follow_the_process_document(severity):
    delivery, interval = DEFAULTS[severity]
    notification = rule(severity, "classified")
    assert (notification.template, notification.audiences, notification.delivery) == (
        "incident_notification",
        ["stakeholders"],
        delivery,
    )
    reminders = MessageRule.objects.filter(severity=severity, moment="status_update_due")
    assert [(r.template, r.audiences, r.interval) for r in reminders] == (
        [("major_reminder", ["incident_manager"], interval)] if interval else []
    )
    closed = rule(severity, "closed")
    assert (closed.template, closed.audiences) == ("resolution_notice", ["caller", "stakeholders"])
    final = rule(severity, "review_final")
    assert (final.template, final.audiences) == ("post_incident_summary", ["stakeholders", "operations"])
    assert MessageRule.objects.filter(severity=severity, is_active=False).count() == 0


# --- editing through the service ---------------------------------------------------------------------------


VALID = {
    "severity": "S3",
    "moment": "status_update_due",
    "template": "major_reminder",
    "audiences": ["assignee"],
    "interval": timedelta(hours=4),
}
# One table of invalid combinations: (changes to VALID, field, words the message holds).
INVALID = [
    ({"template": "resolution_notice"}, "template", "the Status-update reminder is sent"),
    ({"audiences": ["stakeholders", "assignee"]}, "audiences", "cannot go to the service's stakeholders"),
    ({"audiences": []}, "audiences", "at least one audience"),
    ({"audiences": ["everyone"]}, "audiences", "Unknown audience: everyone"),
    ({"interval": None}, "interval", "how often the reminder repeats"),
    ({"interval": timedelta(minutes=1)}, "interval", "Between 5 min and 1 day"),
    ({"delivery": "digest"}, "delivery", "Only the Incident Notification"),
    (
        {"moment": "closed", "template": "resolution_notice", "audiences": ["caller"]},
        "interval",
        "leave the interval empty",
    ),
    ({"severity": "S1"}, "template", "There is already a rule for S1"),
]


def test_an_incident_manager_adds_and_changes_a_rule(manager):
    added = services.message_rule_save(user=manager, **VALID)
    assert added.is_active and added.delivery == "immediate"
    assert added.history.first().history_user == manager
    changed = services.message_rule_save(user=manager, rule=added, interval=timedelta(hours=2))
    assert changed.interval == timedelta(hours=2) and changed.audiences == ["assignee"]
    assert changed.history.first().history_change_reason == "rule changed"


@pytest.mark.parametrize(("changes", "field", "words"), INVALID)
def test_invalid_combinations_are_refused_field_by_field(manager, changes, field, words):
    with pytest.raises(ValidationError) as refused:
        services.message_rule_save(user=manager, **{**VALID, **changes})
    assert words in " ".join(refused.value.message_dict[field])
    assert not MessageRule.objects.filter(severity="S3", moment="status_update_due").exists()


@pytest.mark.parametrize("role", [Role.SERVICE_DESK, Role.MANAGEMENT, Role.OPERATIONS])
def test_only_incident_managers_change_the_rules(role):
    user = make_user(role, username="someone")
    with pytest.raises(PermissionDenied):
        services.message_rule_save(user=user, **VALID)
    with pytest.raises(PermissionDenied):
        services.message_rule_save(user=user, rule=rule("S1", "classified"), is_active=False)
    assert rule("S1", "classified").is_active


# --- the admin -----------------------------------------------------------------------------------------


def form_data(**changes):
    data = {
        "severity": "S3",
        "moment": "status_update_due",
        "template": "major_reminder",
        "audiences": ["assignee"],
        "delivery": "immediate",
        "interval": "4 h",
        "is_active": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_admin_form_says_what_is_wrong_on_the_field(client, manager):
    client.force_login(manager)
    response = client.post(ADD_URL, form_data(audiences=["caller"], delivery="digest"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "asks staff to act; it cannot go to the caller" in errors["audiences"][0]
    assert "Only the Incident Notification" in errors["delivery"][0]
    response = client.post(ADD_URL, form_data(severity="S2"))  # S2 already reminds
    assert "There is already a rule for S2" in response.context["adminform"].form.errors["template"][0]
    assert MessageRule.objects.filter(moment="status_update_due").count() == 2


def test_the_admin_saves_through_the_service(client, manager):
    client.force_login(manager)
    assert "The caller (the person affected)" in client.get(ADD_URL).content.decode()
    response = client.post(ADD_URL, form_data())
    assert response.status_code == 302
    added = MessageRule.objects.get(severity="S3", moment="status_update_due")
    assert added.interval == timedelta(hours=4) and added.audiences == ["assignee"]
    assert added.history.first().history_change_reason == "rule added"
    listing = client.get(reverse("admin:escalation_messagerule_changelist")).content.decode()
    assert "The assignee" in listing and "4 h" in listing
    change = reverse("admin:escalation_messagerule_change", args=[added.pk])
    assert 'value="4 h"' in client.get(change).content.decode()


def test_read_only_roles_see_the_rules_but_cannot_change_them(client, management):
    client.force_login(management)
    assert client.get(reverse("admin:escalation_messagerule_changelist")).status_code == 200
    assert client.post(ADD_URL, form_data()).status_code == 403
    change = reverse("admin:escalation_messagerule_change", args=[rule("S1", "classified").pk])
    client.post(change, form_data(severity="S1", moment="classified", template="incident_notification"))
    assert rule("S1", "classified").audiences == ["stakeholders"]


# --- a change applies to the next message ----------------------------------------------------------------


def test_an_s3_rule_set_to_at_once_notifies_at_classification(manager):
    services.message_rule_save(user=manager, rule=rule("S3", "classified"), delivery="immediate")
    service = ServiceFactory(stakeholder_emails="astro@lab.example")
    incident = incident_in("classified", manager=manager, service=service, urgency="medium", impact="medium")
    assert incident.severity == "S3"
    sent = Notification.objects.filter(incident=incident, template="incident_notification")
    assert list(sent.values_list("recipient", flat=True)) == ["astro@lab.example"]
    assert not DigestItem.objects.exists()


def test_an_inactive_rule_sends_nothing_and_an_added_audience_receives(manager):
    services.message_rule_save(user=manager, rule=rule("S2", "classified"), is_active=False)
    ops = make_user(Role.OPERATIONS, username="ops", email="ops@lab.example")
    services.message_rule_save(
        user=manager, rule=rule("S2", "closed"), audiences=["caller", "stakeholders", "operations"]
    )
    service = ServiceFactory(stakeholder_emails="astro@lab.example")
    incident = incident_in("resolved", manager=manager, service=service, urgency="high", impact="medium")
    assert not Notification.objects.filter(incident=incident, template="incident_notification").exists()
    incident_services.incident_close(
        incident=incident, user=manager, closure_notes="Disk replaced, verified."
    )
    notice = Notification.objects.filter(incident=incident, template="resolution_notice")
    assert set(notice.values_list("recipient", flat=True)) == {"astro@lab.example", ops.email}


def test_deleting_a_rule_goes_through_the_service(client, manager):
    target = rule("S4", "review_final")
    client.force_login(manager)
    response = client.post(reverse("admin:escalation_messagerule_delete", args=[target.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not MessageRule.objects.filter(pk=target.pk).exists()
    assert MessageRule.history.filter(id=target.pk).first().history_change_reason == "rule deleted"
