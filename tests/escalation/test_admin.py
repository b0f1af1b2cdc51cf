"""The escalation admin, driven with the Django test client: the on-call calendar, the escalation buttons on
the incident page, message previews, policy editing, the read-only record and the outbox's retry action."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from escalation import services
from escalation.models import (
    EscalationEvent,
    EscalationPolicy,
    EscalationStep,
    Notification,
    Rotation,
    RotationMember,
    RotationOverride,
    Webhook,
)
from escalation.services.notifications import COMMUNICATION_TEMPLATES
from incidents.choices import Role
from incidents.exceptions import Conflict, PermissionDenied
from tests.factories import ServiceFactory, incident_in, make_user

pytestmark = pytest.mark.django_db

SCHEDULE_URL = reverse("admin:escalation_rotation_schedule")


def incident_url(incident, name="change"):
    return reverse(f"admin:incidents_incident_{name}", args=[incident.pk])


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def s4(manager, state="investigating", **kwargs):
    return incident_in(state, manager=manager, urgency="low", impact="low", **kwargs)


# --- on call --------------------------------------------------------------------------------------------


@pytest.fixture
def rotation(db):
    rotation = Rotation.objects.create(
        name="Sysadmins on call",
        kind="tier2",
        shift_length=timedelta(days=7),
        handoff_time=time(9, 0),
        time_zone="Europe/Berlin",
        start_date=date(2026, 5, 4),
    )
    for order, name in enumerate(["ana", "ben"]):
        RotationMember.objects.create(
            rotation=rotation, user=make_user(Role.SYSADMINS, username=name), order=order
        )
    RotationOverride.objects.create(
        rotation=rotation,
        user=make_user(Role.SYSADMINS, username="sub"),
        starts_at=datetime(2026, 5, 6, 12, tzinfo=UTC),
        ends_at=datetime(2026, 5, 7, 12, tzinfo=UTC),
    )
    return rotation


def test_rotation_changelist_links_the_calendar(client, manager, rotation):
    client.force_login(manager)
    response = client.get(reverse("admin:escalation_rotation_changelist"))
    assert response.status_code == 200
    assert SCHEDULE_URL in response.content.decode()


def test_calendar_shows_14_days_of_shifts_and_overrides(client, manager, rotation):
    client.force_login(manager)
    with time_machine.travel(datetime(2026, 5, 5, 10, tzinfo=UTC), tick=False):
        response = client.get(SCHEDULE_URL)
    assert response.status_code == 200
    (calendar,) = response.context["calendars"]
    rows = [
        (r["user"].username if r["user"] else None, f"{r['starts_at']:%m-%d %H:%M}", r["is_override"])
        for r in calendar["rows"]
    ]
    # From midnight on 5 May (Berlin) for 14 days: ana's shift, sub's override, ana again, then ben, ana.
    assert rows == [
        ("ana", "05-05 00:00", False),
        ("sub", "05-06 14:00", True),
        ("ana", "05-07 14:00", False),
        ("ben", "05-11 09:00", False),
        ("ana", "05-18 09:00", False),
    ]
    assert f"{calendar['rows'][-1]['ends_at']:%m-%d %H:%M}" == "05-19 00:00"
    page = response.content.decode()
    assert "On-call: next 14 days" in page and "override" in page and "(now)" in page
    assert "Wed 2026-05-06 14:00" in page, "times in the rotation's time zone"


def test_calendar_needs_the_rotation_view_permission(client, rotation):
    Group.objects.create(name="Visitors")
    client.force_login(make_user("Visitors", username="visitor"))
    assert client.get(SCHEDULE_URL).status_code == 403


def test_rotation_time_zone_is_validated(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("admin:escalation_rotation_add"),
        {
            "name": "Desk",
            "kind": "tier1",
            "shift_length": "7 00:00:00",
            "handoff_time": "09:00",
            "time_zone": "Mars/Olympus",
            "start_date": "2026-05-04",
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
            "overrides-TOTAL_FORMS": "0",
            "overrides-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "time_zone" in response.context["adminform"].form.errors
    assert not Rotation.objects.exists()


# --- the incident page ----------------------------------------------------------------------------------


def test_change_page_shows_the_escalation_buttons_the_role_allows(client, manager, management):
    incident = s4(manager)
    client.force_login(manager)
    page = client.get(incident_url(incident)).content.decode()
    for name in ("escalate", "major", "status_update", "preview"):
        assert incident_url(incident, name) in page, name
    assert 'data-transition="' in page, "the incidents app's page is still there"

    client.force_login(management)
    page = client.get(incident_url(incident)).content.decode()
    assert incident_url(incident, "escalate") not in page
    assert incident_url(incident, "major") not in page
    assert incident_url(incident, "preview") in page


def test_escalate_button_moves_the_incident_up_a_tier(client, manager, service_desk):
    incident = s4(manager)
    client.force_login(service_desk)
    assert client.get(incident_url(incident, "escalate")).status_code == 200
    response = client.post(incident_url(incident, "escalate"), {"reason": "needs a sysadmin"}, follow=True)
    assert response.redirect_chain[-1][0] == incident_url(incident)
    incident.refresh_from_db()
    assert incident.tier == "tier2"
    assert any("escalated to Tier 2" in m for m in messages_of(response))
    response = client.post(
        incident_url(incident, "escalate"), {"reason": "vendor", "tier": "external"}, follow=True
    )
    incident.refresh_from_db()
    assert incident.tier == "external"
    assert EscalationEvent.objects.filter(incident=incident, kind="functional").count() == 2


def test_escalate_refusals_become_messages(client, manager, management, service_desk):
    incident = s4(manager)
    client.force_login(management)  # a read-only role: 403 before the form is filled in
    assert client.get(incident_url(incident, "escalate")).status_code == 403
    assert client.post(incident_url(incident, "escalate"), {"reason": "x"}).status_code == 403

    client.force_login(service_desk)
    client.post(incident_url(incident, "escalate"), {"reason": "x", "tier": "external"})
    response = client.post(incident_url(incident, "escalate"), {"reason": "again"}, follow=True)
    assert response.status_code == 200
    assert any("no higher tier" in m for m in messages_of(response))

    response = client.post(incident_url(incident, "escalate"), {"reason": ""})
    assert response.status_code == 200 and "reason" in response.context["form"].errors


def test_declare_and_clear_major_from_the_incident_page(client, manager, service_desk):
    incident = s4(manager)
    client.force_login(service_desk)
    assert client.get(incident_url(incident, "major")).status_code == 403
    assert (
        client.post(incident_url(incident, "major"), {"major": "True", "reason": "outage"}).status_code == 403
    )
    incident.refresh_from_db()
    assert not incident.is_major

    client.force_login(manager)
    form = client.get(incident_url(incident, "major"))
    assert form.context["form"].initial == {"major": True}
    response = client.post(
        incident_url(incident, "major"), {"major": "True", "reason": "cluster down"}, follow=True
    )
    assert response.redirect_chain[-1][0] == incident_url(incident)
    incident.refresh_from_db()
    assert incident.is_major
    assert EscalationEvent.objects.filter(incident=incident, kind="emergency").exists()
    assert "Clear major status" in response.content.decode()

    client.post(incident_url(incident, "major"), {"major": "False", "reason": "contained"})
    incident.refresh_from_db()
    assert not incident.is_major


def test_status_update_from_the_incident_page(client, manager, sysadmin):
    incident = s4(manager, service=ServiceFactory(stakeholder_emails="ops@lab.example"))
    client.force_login(sysadmin)
    response = client.post(
        incident_url(incident, "status_update"), {"message": "Rebuilding the array"}, follow=True
    )
    assert response.redirect_chain[-1][0] == incident_url(incident)
    assert messages_of(response) == [f"Status update on {incident.number} sent."]
    update = Notification.objects.get(
        incident=incident, template="status_update", recipient="ops@lab.example"
    )
    assert "Rebuilding the array" in update.body

    response = client.post(incident_url(incident, "status_update"), {"message": ""})
    assert response.status_code == 200 and "message" in response.context["form"].errors


@pytest.mark.parametrize("template", COMMUNICATION_TEMPLATES)
def test_preview_renders_every_template(client, manager, template):
    incident = s4(manager, service=ServiceFactory(name="Ceph storage"))
    client.force_login(manager)
    response = client.get(incident_url(incident, "preview"), {"template": template})
    assert response.status_code == 200
    assert incident.number in response.context["subject"]
    assert incident.number in response.context["text"] and "Ceph storage" in response.context["text"]
    assert incident.number in response.context["html"]
    page = response.content.decode()
    assert 'id="preview-html" sandbox' in page and '<pre id="preview-text"' in page


def test_preview_sends_nothing_and_falls_back_on_an_unknown_template(client, manager):
    incident = s4(manager)
    before = Notification.objects.count()
    client.force_login(manager)
    response = client.get(incident_url(incident, "preview"), {"template": "nope"})
    assert response.status_code == 200
    assert "Incident Notification" in response.context["title"]
    assert messages_of(response) == ["No communication template 'nope'."]
    assert Notification.objects.count() == before


def test_escalation_views_check_that_the_user_may_see_the_incident(client, manager):
    incident = s4(manager)
    Group.objects.create(name="Visitors")
    client.force_login(make_user("Visitors", username="visitor"))
    # An incident the user may not see is answered as one that does not exist: back to the admin index.
    for name in ("escalate", "major", "status_update", "preview"):
        response = client.get(incident_url(incident, name))
        assert (response.status_code, response.url) == (302, "/admin/"), name
    assert client.post(incident_url(incident, "escalate"), {"reason": "x"}).status_code == 302
    incident.refresh_from_db()
    assert incident.tier == "tier1"


# --- policies -------------------------------------------------------------------------------------------


def policy_form_data(response, **changes):
    """The policy page's POST body as rendered: every step row plus the management form."""
    formset = response.context["inline_admin_formsets"][0].formset
    data = {f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()}
    for form in formset.forms:
        for name, field in form.fields.items():
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = field.widget.format_value(value) if name == "offset" else value
    data.update(changes)
    return data


def test_policy_admin_saves_steps_through_the_service(client, manager):
    policy = EscalationPolicy.objects.get(severity="S3")
    url = reverse("admin:escalation_escalationpolicy_change", args=[policy.pk])
    client.force_login(manager)
    page = client.get(url)
    assert page.status_code == 200
    first = EscalationStep.objects.filter(policy=policy).order_by("order").first()
    response = client.post(url, policy_form_data(page, **{"steps-0-level": "2", "steps-1-DELETE": "on"}))
    assert response.status_code == 302, (
        response.context and response.context["inline_admin_formsets"][0].formset.errors
    )
    steps = list(policy.steps.order_by("order"))
    assert len(steps) == 3
    assert steps[0].pk == first.pk and steps[0].level == 2, "same threshold: same step, edited"
    record = policy.history.first()
    assert record.history_user == manager and record.history_change_reason.startswith("Steps replaced")


def test_policy_admin_rejects_a_step_without_a_target(client, manager):
    policy = EscalationPolicy.objects.get(severity="S3")
    url = reverse("admin:escalation_escalationpolicy_change", args=[policy.pk])
    client.force_login(manager)
    data = policy_form_data(client.get(url))
    data.pop("steps-0-notify_tier_group")
    data["steps-0-notify_oncall"] = ""
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert "at least one target" in str(errors)
    assert policy.steps.get(order=1).notify_oncall == "tier"


def test_policies_cannot_be_added_or_deleted(client, manager):
    client.force_login(manager)
    policy = EscalationPolicy.objects.get(severity="S1")
    assert client.get(reverse("admin:escalation_escalationpolicy_add")).status_code == 403
    assert (
        client.get(reverse("admin:escalation_escalationpolicy_delete", args=[policy.pk])).status_code == 403
    )
    assert client.get(reverse("admin:escalation_escalationpolicy_changelist")).status_code == 200


# --- the record and the outbox --------------------------------------------------------------------------


def test_escalation_events_are_read_only_and_searchable(client, manager, service_desk):
    incident = s4(manager)
    other = s4(manager)
    client.force_login(service_desk)
    client.post(incident_url(incident, "escalate"), {"reason": "r"})
    client.post(incident_url(other, "escalate"), {"reason": "r"})
    changelist = reverse("admin:escalation_escalationevent_changelist")
    response = client.get(changelist, {"q": incident.number, "kind__exact": "functional"})
    assert response.status_code == 200
    assert [e.incident_id for e in response.context["cl"].result_list] == [incident.pk]
    event = EscalationEvent.objects.filter(incident=incident).first()
    assert client.get(reverse("admin:escalation_escalationevent_change", args=[event.pk])).status_code == 200
    assert (
        client.post(reverse("admin:escalation_escalationevent_change", args=[event.pk]), {}).status_code
        == 403
    )


@pytest.fixture
def failed_notification(manager):
    incident = s4(manager)
    return Notification.objects.create(
        incident=incident,
        channel="email",
        recipient="ops@lab.example",
        template="status_update",
        subject="s",
        body="b",
        status="failed",
        attempts=8,
        last_error="SMTPServerDisconnected: gone",
    )


def test_retry_delivery_puts_failed_notifications_back(
    client, manager, failed_notification, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("escalation.services.outbox_admin.queue_delivery", queued.extend)
    sent = Notification.objects.create(
        channel="email", recipient="x@lab.example", template="page", subject="s", body="b", status="sent"
    )
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:escalation_notification_changelist"),
            {"action": "retry_delivery", "_selected_action": [failed_notification.pk, sent.pk]},
            follow=True,
        )
    assert response.status_code == 200
    failed_notification.refresh_from_db()
    assert (failed_notification.status, failed_notification.attempts) == ("pending", 0)
    assert queued == [failed_notification.pk]
    sent.refresh_from_db()
    assert sent.status == "sent"
    assert messages_of(response) == [
        "1 notification(s) queued for delivery again.",
        "1 notification(s) skipped: only failed deliveries are retried.",
    ]
    assert failed_notification.incident.timeline.filter(note__startswith="Retrying delivery").exists()


def test_retry_delivery_is_for_incident_managers(client, service_desk, failed_notification):
    with pytest.raises(PermissionDenied):
        services.notification_retry(notification=failed_notification, user=service_desk)
    client.force_login(service_desk)  # the outbox is not even visible to the service desk
    assert client.get(reverse("admin:escalation_notification_changelist")).status_code == 403
    failed_notification.refresh_from_db()
    assert failed_notification.status == "failed"


def test_retry_delivery_leaves_pending_and_sent_notifications_alone(manager, failed_notification):
    failed_notification.status = "pending"
    failed_notification.save()
    with pytest.raises(Conflict):
        services.notification_retry(notification=failed_notification, user=manager)


def test_webhook_secret_is_masked_in_the_list_and_not_editable(client, manager):
    hook = Webhook.objects.create(name="Mattermost", url="https://chat.lab.example/hooks/abc")
    client.force_login(manager)
    page = client.get(reverse("admin:escalation_webhook_changelist")).content.decode()
    assert hook.secret not in page and f"{hook.secret[:10]}…" in page
    response = client.post(
        reverse("admin:escalation_webhook_change", args=[hook.pk]),
        {
            "name": "Mattermost",
            "url": hook.url,
            "secret": "new-secret",  # rotated by the action only, never typed
            "timeout_seconds": "5",
            "is_active": "on",
            "events": ["notification"],
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    secret = hook.secret
    hook.refresh_from_db()
    assert (hook.secret, hook.timeout_seconds) == (secret, 5)
