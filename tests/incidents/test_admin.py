"""The admin workbench, driven with the Django test client against the database.

Writes in the admin go through the services; these tests check that the pages call them, show only what
the user may do and turn every refusal into a message or a field error.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from incidents import services
from incidents.choices import EventKind, State
from incidents.forms import TRANSITION_FORMS
from incidents.models import (
    Comment,
    Incident,
    Problem,
    ResponsePlan,
    Service,
    SlaPolicy,
    SupportTier,
    TimelineEvent,
)
from tests.factories import ServiceFactory, incident_in, make_user
from tests.incidents.admin_forms import change_form_data

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:incidents_incident_add")
CHANGELIST_URL = reverse("admin:incidents_incident_changelist")


def change_url(incident):
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def transition_url(incident, name):
    return reverse("admin:incidents_incident_transition", args=[incident.pk, name])


def messages_of(response):
    """Messages shown on the page a redirect led to (post with follow=True)."""
    return [str(m) for m in response.context["messages"]]


def buttons(response):
    return re.findall(r'data-transition="(\w+)"', response.content.decode())


def history_rows(response):
    rows = re.findall(r"<tr>(.*?)</tr>", response.content.decode(), flags=re.S)
    return [" ".join(strip_tags(row).split()) for row in rows]


# --- who gets in -----------------------------------------------------------------------------------------


def test_staff_without_a_role_is_sent_to_login(client):
    client.force_login(make_user(username="staff-no-role", is_staff=True))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert client.get(CHANGELIST_URL).status_code == 302


def test_non_staff_user_is_sent_to_login(client, outsider):
    client.force_login(outsider)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_service_desk_gets_in(client, service_desk):
    client.force_login(service_desk)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(CHANGELIST_URL).status_code == 200
    assert client.get(ADD_URL).status_code == 200


# --- the whole lifecycle, as the "done means" describes it ---------------------------------------


def test_lifecycle_in_admin_from_logging_to_closure(client, service_desk, sysadmin, manager):
    ceph = ServiceFactory(name="Ceph storage", slug="ceph")

    # The service desk logs the incident; reporter is the one logging it.
    client.force_login(service_desk)
    response = client.post(
        ADD_URL,
        {
            "title": "Ceph OSD down on pve-03",
            "description": "HEALTH_WARN: 1 osds down",
            "service": ceph.pk,
            "incident_type": "host_failure",
            "source": "operations",
            "detected_at_0": "",
            "detected_at_1": "",
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response.url == change_url(incident)
    assert (incident.state, incident.reporter, incident.number) == (State.LOGGED, service_desk, "INC-000001")

    page = client.get(change_url(incident))
    assert buttons(page) == ["classify"]

    # ... classifies it (the form page first, then the post) ...
    assert client.get(transition_url(incident, "classify")).status_code == 200
    response = client.post(
        transition_url(incident, "classify"),
        {"category": "infrastructure", "urgency": "high", "impact": "medium", "service": ceph.pk},
        follow=True,
    )
    assert response.redirect_chain == [(change_url(incident), 302)]
    incident.refresh_from_db()
    assert (incident.state, incident.severity) == (State.CLASSIFIED, "S2")
    assert incident.resolution_due_at == incident.created_at + timedelta(hours=8)
    assert incident.checklist.count() == 5  # the host-failure response plan
    assert any("Classify done" in m for m in messages_of(response))

    # ... and hands it to a system administrator.
    investigate_page = client.get(transition_url(incident, "investigate"))
    assert investigate_page.context["form"]["assignee"].value() == service_desk.pk  # defaults to the caller
    response = client.post(
        transition_url(incident, "investigate"), {"assignee": sysadmin.pk, "note": "Over to tier 2"}
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.state, incident.assignee) == (State.INVESTIGATING, sysadmin)

    # The investigator holds, resumes and resolves.
    client.force_login(sysadmin)
    assert sorted(buttons(client.get(change_url(incident)))) == ["hold", "resolve"]
    client.post(transition_url(incident, "hold"), {"reason": "awaiting_vendor", "note": "RMA opened"})
    incident.refresh_from_db()
    assert (incident.state, incident.on_hold_reason) == (State.ON_HOLD, "awaiting_vendor")
    client.post(transition_url(incident, "resume"), {"note": "Replacement disk arrived"})
    # The runbook's required step does not apply here: skipped, with the reason.
    migrate_vms = incident.checklist.get(required=True)
    client.post(
        reverse("admin:incidents_incident_checklist_skip", args=[incident.pk, migrate_vms.pk]),
        {"reason": "The host kept running; only an OSD failed"},
    )
    client.post(
        transition_url(incident, "resolve"),
        {
            "resolution_code": "fixed",
            "resolution_notes": "Replaced the disk; OSD back in",
            "diagnosis": "osd.7 down: disk media errors",
            "root_cause": "Worn-out disk",
        },
    )
    incident.refresh_from_db()
    assert (incident.state, incident.resolution_code) == (State.RESOLVED, "fixed")

    # The incident manager closes it.
    client.force_login(manager)
    assert sorted(buttons(client.get(change_url(incident)))) == ["close", "reopen"]
    closing = {
        "closure_notes": "Disk replaced; verified on the Ceph dashboard",
        "note": "Confirmed with the user",
    }
    client.post(transition_url(incident, "close"), closing)
    incident.refresh_from_db()
    assert incident.state == State.CLOSED

    # The history shows who did what.
    history = client.get(reverse("admin:incidents_incident_history", args=[incident.pk]))
    assert history.status_code == 200
    rows = history_rows(history)
    for who, reason in [
        ("desk", "logged"),
        ("desk", "classify"),
        ("desk", "investigate: Over to tier 2"),
        ("sysadmin", "hold: RMA opened"),
        ("sysadmin", "resume: Replacement disk arrived"),
        ("sysadmin", "resolve: Replaced the disk"),
        ("manager", "close: Confirmed with the user"),
    ]:
        assert any(who in row and reason in row for row in rows), (who, reason, rows)

    # So does the timeline inline, in order.
    page = client.get(change_url(incident)).content.decode()
    assert (
        page.index("Logged → Classified")
        < page.index("On hold → Investigating")
        < page.index("Resolved → Closed")
    )


# --- transition buttons and their errors -----------------------------------------------------------------


@pytest.mark.parametrize("state", list(State))
def test_buttons_are_the_transitions_the_user_may_take_now(
    client, state, service_desk, sysadmin, manager, management
):
    incident = incident_in(state, manager=manager)
    for user in (service_desk, sysadmin, manager, management):
        client.force_login(user)
        page = client.get(change_url(incident))
        assert page.status_code == 200
        assert buttons(page) == services.allowed_transitions(incident, user), user.username


def test_management_is_read_only(client, management, manager):
    incident = incident_in(State.CLASSIFIED, manager=manager)
    client.force_login(management)
    page = client.get(change_url(incident))
    content = page.content.decode()
    assert page.status_code == 200
    assert buttons(page) == []
    assert 'id="add-comment"' not in content
    assert 'name="_save"' not in content
    assert client.get(ADD_URL).status_code == 403
    assert client.post(change_url(incident), {"title": "renamed"}).status_code == 403
    # Action forms answer 403 before anyone fills them in.
    assert client.get(transition_url(incident, "investigate")).status_code == 403


def test_transition_not_allowed_from_the_state_is_an_error_message(client, manager):
    incident = incident_in(State.LOGGED, manager=manager)
    client.force_login(manager)
    response = client.post(
        transition_url(incident, "resolve"),
        {"resolution_code": "fixed", "resolution_notes": "done"},
        follow=True,
    )
    assert response.redirect_chain == [(change_url(incident), 302)]
    [message] = messages_of(response)
    assert message == "It is logged: you cannot resolve it now (possible: cancel, classify)."
    incident.refresh_from_db()
    assert incident.state == State.LOGGED


def test_transition_without_permission_is_refused(client, service_desk, manager):
    incident = incident_in(State.LOGGED, manager=manager)
    client.force_login(service_desk)
    assert client.get(transition_url(incident, "cancel")).status_code == 403
    assert client.post(transition_url(incident, "cancel"), {"reason": "duplicate"}).status_code == 403
    incident.refresh_from_db()
    assert incident.state == State.LOGGED


def test_unknown_transition_is_an_error_message_not_a_500(client, manager):
    incident = incident_in(State.LOGGED, manager=manager)
    client.force_login(manager)
    response = client.get(transition_url(incident, "explode"), follow=True)
    assert response.redirect_chain == [(change_url(incident), 302)]
    assert messages_of(response) == ["Transition: Unknown transition 'explode'."]


def test_missing_input_shows_the_form_again_with_field_errors(client, manager):
    incident = incident_in(State.INVESTIGATING, manager=manager)
    client.force_login(manager)
    response = client.post(transition_url(incident, "hold"), {"reason": "awaiting_vendor", "note": ""})
    assert response.status_code == 200
    assert response.context["form"].errors == {"note": ["This field is required."]}
    assert "Please correct the error below." in response.content.decode()
    incident.refresh_from_db()
    assert incident.state == State.INVESTIGATING


def test_service_validation_error_lands_on_the_transition_form(client, manager):
    incident = incident_in(State.LOGGED, manager=manager)
    client.force_login(manager)
    url = transition_url(incident, "classify")
    data = {"category": "infrastructure", "urgency": "low", "impact": "low", "severity": "S1"}

    response = client.post(url, data)  # an override needs a reason: the service says so
    assert response.status_code == 200
    assert response.context["form"].errors == {"severity_reason": ["This field is required."]}
    incident.refresh_from_db()
    assert incident.state == State.LOGGED

    client.post(url, {**data, "severity_reason": "Whole observatory offline"})
    incident.refresh_from_db()
    assert (incident.state, incident.severity) == (State.CLASSIFIED, "S1")


def test_only_incident_managers_see_the_severity_override(client, service_desk, manager):
    incident = incident_in(State.LOGGED, manager=manager)
    client.force_login(service_desk)
    assert "severity" not in client.get(transition_url(incident, "classify")).context["form"].fields
    client.force_login(manager)
    assert "severity" in client.get(transition_url(incident, "classify")).context["form"].fields


def test_reclassify_is_labelled_as_such(client, manager):
    incident = incident_in(State.INVESTIGATING, manager=manager)
    client.force_login(manager)
    page = client.get(change_url(incident)).content.decode()
    assert re.search(r'data-transition="classify"[^>]*>Reclassify</button>', page)
    assert "<h1>Reclassify: INC-" in client.get(transition_url(incident, "classify")).content.decode()


def test_every_transition_has_an_input_form():
    assert set(TRANSITION_FORMS) == set(services.TRANSITIONS)


# --- logging and editing ---------------------------------------------------------------------------------


def test_logging_needs_a_title(client, service_desk):
    client.force_login(service_desk)
    response = client.post(ADD_URL, {"title": "", "incident_type": "", "source": "user"})
    assert response.status_code == 200
    assert "title" in response.context["adminform"].form.errors
    assert not Incident.objects.exists()


def test_logging_refuses_a_detection_time_in_the_future(client, service_desk):
    client.force_login(service_desk)
    tomorrow = timezone.localtime() + timedelta(days=1)
    response = client.post(
        ADD_URL,
        {
            "title": "Feed noisy",
            "incident_type": "",
            "source": "user",
            "detected_at_0": f"{tomorrow:%Y-%m-%d}",
            "detected_at_1": f"{tomorrow:%H:%M:%S}",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "detected_at": ["Detection cannot be in the future."]
    }
    assert not Incident.objects.exists()


def test_editing_descriptive_fields_goes_through_the_service(client, service_desk, manager):
    incident = incident_in(State.INVESTIGATING, manager=manager)
    client.force_login(service_desk)
    page = client.get(change_url(incident))
    data = change_form_data(page, title="Ceph OSD.12 down on pve-03", change_ref="CHG-0042", state="closed")
    response = client.post(change_url(incident), data)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.title, incident.change_ref, incident.state) == (
        "Ceph OSD.12 down on pve-03",
        "CHG-0042",
        State.INVESTIGATING,  # state is read-only in the form
    )
    latest = incident.history.first()
    assert (latest.history_user, latest.history_change_reason) == (service_desk, "edited: title, change_ref")
    assert incident.timeline.filter(kind=EventKind.UPDATE, actor=service_desk).exists()

    # django-fsm-2's own transition buttons (posted with the form) lead to the transition's input form.
    response = client.post(change_url(incident), {**data, "_fsm_transition_to": "hold"})
    assert response.url == transition_url(incident, "hold")


def test_editing_shows_service_errors_on_the_field(client, service_desk, manager):
    incident = incident_in(State.CLASSIFIED, manager=manager)
    client.force_login(service_desk)
    page = client.get(change_url(incident))
    later = timezone.localtime(incident.created_at) + timedelta(hours=1)
    data = change_form_data(
        page, detected_at_0=f"{later:%Y-%m-%d}", detected_at_1=f"{later:%H:%M:%S}", title="Renamed"
    )
    response = client.post(change_url(incident), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "detected_at": ["Detection cannot be later than logging."]
    }
    incident.refresh_from_db()
    assert incident.title != "Renamed"


def test_incidents_cannot_be_deleted(client, manager):
    superuser = make_user(username="root", is_superuser=True)
    incident = incident_in(State.LOGGED, manager=manager)
    client.force_login(superuser)
    assert client.get(reverse("admin:incidents_incident_delete", args=[incident.pk])).status_code == 403
    assert 'class="deletelink"' not in client.get(change_url(incident)).content.decode()


def test_history_is_read_only(client, manager):
    incident = incident_in(State.CLASSIFIED, manager=manager)
    first = incident.history.last()
    client.force_login(manager)
    url = reverse("admin:incidents_incident_simple_history", args=[incident.pk, first.history_id])
    assert client.get(url).status_code == 200
    assert client.post(url, {"title": "reverted"}).status_code == 403
    incident.refresh_from_db()
    assert incident.state == State.CLASSIFIED


# --- changelist ------------------------------------------------------------------------------------------


def test_changelist_filters_and_search_in_bounded_queries(client, manager, django_assert_max_num_queries):
    service = ServiceFactory(name="Core network", slug="core-network")
    for state in State:
        incident_in(state, manager=manager, service=service)
    client.force_login(manager)
    params = [
        {},
        {"state__exact": "investigating"},
        {"severity__exact": "S1"},
        {"category__exact": "infrastructure"},
        {"service__id__exact": service.pk},
        {"tier__exact": "tier1"},
        {"assignee__id__exact": manager.pk},
        {"is_major__exact": "1"},
        {"breached": "yes"},
        {"breached": "no"},
        {"q": "INC-000003"},
        {"q": "Ceph"},
        {"o": "5"},  # sort by the SLA column (after the action checkbox, number, title, severity, state)
    ]
    for query in params:
        searched_ids = "q" in query and connection.vendor == "postgresql"  # `selectors.search_incidents`
        with django_assert_max_num_queries(13 if searched_ids else 12):
            response = client.get(CHANGELIST_URL, query)
        assert response.status_code == 200, query
    assert len(client.get(CHANGELIST_URL, {"q": "INC-000003"}).context["cl"].result_list) == 1
    investigating = client.get(CHANGELIST_URL, {"state__exact": "investigating"}).context["cl"].result_list
    assert [i.state for i in investigating] == [State.INVESTIGATING]


def test_changelist_query_count_does_not_grow_with_rows(client, manager, django_assert_max_num_queries):
    for _ in range(3):
        incident_in(State.INVESTIGATING, manager=manager)
    client.force_login(manager)
    with django_assert_max_num_queries(12) as few:
        client.get(CHANGELIST_URL)
    for _ in range(10):
        incident_in(State.INVESTIGATING, manager=manager)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(CHANGELIST_URL)


def test_breached_filter(client, manager):
    classified = incident_in(State.CLASSIFIED, manager=manager)  # S1: respond within 15 minutes
    logged = incident_in(State.LOGGED, manager=manager)  # no clock yet
    client.force_login(manager)
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        breached = client.get(CHANGELIST_URL, {"breached": "yes"}).context["cl"].result_list
        within = client.get(CHANGELIST_URL, {"breached": "no"}).context["cl"].result_list
        page = client.get(CHANGELIST_URL).content.decode()
    assert list(breached) == [classified]
    assert list(within) == [logged]
    assert "itsm-sla-breach" in page


def test_sla_column_states(client, manager):
    incident_in(State.CLASSIFIED, manager=manager, title="running")
    incident_in(State.ON_HOLD, manager=manager, title="held")
    incident_in(State.CLOSED, manager=manager, title="closed")
    client.force_login(manager)
    page = client.get(CHANGELIST_URL, {"state": "all"}).content.decode()  # the default lists open ones
    # The clock that matters now: the response clock until the first response (S1: 15 minutes).
    assert re.search(r'itsm-sla-ok"[^>]*>respond in 1[45] min<', page)
    assert re.search(r'itsm-sla-paused"[^>]*>paused · 3 h 5\d min left<', page)
    assert re.search(
        r'itsm-sla-ok" title="Response due [^"]*\(response in time, resolution in time\)">met<', page
    )


# --- checklist and comments ------------------------------------------------------------------------------


def test_tick_a_checklist_step(client, sysadmin, management, manager):
    incident = incident_in(State.INVESTIGATING, manager=manager, incident_type="host_failure")
    step = incident.checklist.order_by("order").first()
    url = reverse("admin:incidents_incident_checklist_done", args=[incident.pk])

    client.force_login(management)
    assert 'name="item"' not in client.get(change_url(incident)).content.decode()
    response = client.post(url, {"item": step.pk}, follow=True)
    assert messages_of(response) == ["You may not tick checklist steps."]

    client.force_login(sysadmin)
    assert f'name="item" value="{step.pk}"' in client.get(change_url(incident)).content.decode()
    assert client.get(url).status_code == 405
    response = client.post(url, {"item": step.pk}, follow=True)
    assert response.redirect_chain == [(change_url(incident) + "#checklist-group", 302)]
    assert messages_of(response) == [f"Step done: {step.text}"]
    step.refresh_from_db()
    assert step.done_by == sysadmin and step.done_at is not None
    assert incident.timeline.filter(kind=EventKind.CHECKLIST, actor=sysadmin, note=step.text).exists()
    assert messages_of(client.post(url, {"item": "nope"}, follow=True)) == [
        "No such checklist step on this incident."
    ]


def test_add_a_comment(client, service_desk, management, manager):
    incident = incident_in(State.CLASSIFIED, manager=manager)
    url = reverse("admin:incidents_incident_comment", args=[incident.pk])

    client.force_login(service_desk)
    assert 'id="add-comment"' in client.get(change_url(incident)).content.decode()
    response = client.post(url, {"body": "Called the user back", "visibility": "public"}, follow=True)
    assert messages_of(response) == ["Comment added."]
    comment = Comment.objects.get(incident=incident)
    assert (comment.note, comment.visibility, comment.actor) == (
        "Called the user back",
        "public",
        service_desk,
    )
    assert "Called the user back" in client.get(change_url(incident)).content.decode()

    response = client.post(url, {"body": "", "visibility": "internal"}, follow=True)
    assert messages_of(response) == ["Comment not added. Comment: This field is required."]
    assert Comment.objects.filter(incident=incident).count() == 1

    client.force_login(management)
    assert client.post(url, {"body": "Drive-by", "visibility": "internal"}).status_code == 403
    assert not TimelineEvent.objects.filter(note="Drive-by").exists()


# --- reference data --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "can_add"),
    [(Service, True), (SupportTier, False), (SlaPolicy, False), (ResponsePlan, True), (Problem, True)],
)
def test_reference_data_admins_load(client, model, can_add):
    superuser = make_user(username="root", is_superuser=True)
    ServiceFactory()
    services.problem_create(user=superuser, title="Flaky OSD firmware")
    obj = model.objects.first()
    name = f"admin:incidents_{model._meta.model_name}"
    client.force_login(superuser)
    assert client.get(reverse(f"{name}_changelist")).status_code == 200
    assert client.get(reverse(f"{name}_change", args=[obj.pk])).status_code == 200
    assert client.get(reverse(f"{name}_history", args=[obj.pk])).status_code == 200
    assert client.get(reverse(f"{name}_add")).status_code == (200 if can_add else 403)


def test_sla_policy_severity_is_read_only(client, manager):
    policy = SlaPolicy.objects.get(severity="S1")
    client.force_login(manager)
    url = reverse("admin:incidents_slapolicy_change", args=[policy.pk])
    response = client.post(
        url, {"severity": "S4", "response_target": "00:20:00", "resolution_target": "04:00:00"}
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.severity, policy.response_target) == ("S1", timedelta(minutes=20))
    assert policy.history.first().history_user == manager


def test_sla_policy_rules_come_from_the_service(client, manager):
    policy = SlaPolicy.objects.get(severity="S2")
    client.force_login(manager)
    url = reverse("admin:incidents_slapolicy_change", args=[policy.pk])
    response = client.post(url, {"response_target": "02:00:00", "resolution_target": "01:00:00"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "resolution_target": ["Cannot be shorter than the response target."]
    }
    policy.refresh_from_db()
    assert policy.response_target == timedelta(minutes=30)


def test_problem_is_created_through_the_service_and_lists_its_incidents(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("admin:incidents_problem_add"),
        {"title": "OSD firmware bug", "description": "", "workaround": "Pin firmware 1.2"},
    )
    problem = Problem.objects.get()
    assert response.status_code == 302
    assert (problem.number, problem.is_known_error) == ("PRB-000001", True)
    incident = incident_in(State.CLASSIFIED, manager=manager)
    services.incident_update(incident=incident, user=manager, data={"problem": problem})
    page = client.get(reverse("admin:incidents_problem_change", args=[problem.pk])).content.decode()
    assert incident.number in page and change_url(incident) in page
