"""The lifecycle through the services: happy path, audit trail, and every error path."""

import pytest

from incidents import services
from incidents.exceptions import TransitionNotAllowed, ValidationError
from incidents.models import Incident, ResponsePlan
from tests.factories import ServiceFactory, incident_in

pytestmark = pytest.mark.django_db

# From each state, the transitions that must be refused with a 409-style error.
NOT_FROM = {
    "logged": ["investigate", "hold", "resume", "resolve", "close", "reopen"],
    "classified": ["hold", "resume", "resolve", "close", "reopen"],
    "investigating": ["resume", "close", "reopen", "cancel"],
    "on_hold": ["investigate", "hold", "resolve", "close", "reopen", "cancel"],
    "resolved": ["classify", "investigate", "hold", "resume", "resolve", "cancel"],
    "closed": ["classify", "investigate", "hold", "resume", "resolve", "close", "reopen", "cancel"],
    "cancelled": ["classify", "investigate", "hold", "resume", "resolve", "close", "reopen", "cancel"],
}
INPUTS = {
    "classify": {"category": "application", "urgency": "low", "impact": "low"},
    "investigate": {},
    "hold": {"reason": "other", "note": "n"},
    "resume": {"note": "n"},
    "resolve": {"code": "fixed", "notes": "n"},
    "close": {"closure_notes": "n"},
    "reopen": {"reason": "r"},
    "cancel": {"reason": "r"},
}
CASES = [(s, t) for s, ts in NOT_FROM.items() for t in ts if t in INPUTS]
# What resolving an S1 or S2 incident needs besides a code and notes.
INVESTIGATION = {"diagnosis": "osd.7 marked down", "root_cause": "Failed disk"}


def test_numbers_are_sequential_and_human(manager):
    first = services.incident_create(user=manager, title="a")
    second = services.incident_create(user=manager, title="b")
    assert int(second.number[4:]) == int(first.number[4:]) + 1
    assert first.number.startswith("INC-") and len(first.number) == 10


@pytest.mark.parametrize(("state", "name"), CASES)
def test_transition_from_wrong_state_names_state_and_allowed(manager, state, name):
    incident = incident_in(state, manager=manager)
    with pytest.raises(TransitionNotAllowed) as err:
        services.TRANSITION_SERVICES[name](incident=incident, user=manager, **INPUTS[name])
    assert err.value.state == state
    assert name not in err.value.allowed
    assert f"'{state}'" in str(err.value)
    assert err.value.allowed == services.allowed_transitions(incident, manager)
    incident.refresh_from_db()
    assert incident.state == state


@pytest.mark.parametrize(
    ("state", "name", "inputs", "fields"),
    [
        ("logged", "classify", {"category": "", "urgency": "high", "impact": ""}, {"category", "impact"}),
        (
            "logged",
            "classify",
            {"category": "weather", "urgency": "huge", "impact": "low"},
            {"category", "urgency"},
        ),
        ("investigating", "hold", {"reason": "", "note": ""}, {"reason", "note"}),
        ("investigating", "hold", {"reason": "lunch", "note": "x"}, {"reason"}),
        ("on_hold", "resume", {"note": " "}, {"note"}),
        (
            "investigating",
            "resolve",
            {"code": "", "notes": "", **INVESTIGATION},
            {"resolution_code", "resolution_notes"},
        ),
        ("investigating", "resolve", {"code": "magic", "notes": "x", **INVESTIGATION}, {"resolution_code"}),
        ("resolved", "reopen", {"reason": ""}, {"reason"}),
        ("classified", "cancel", {"reason": ""}, {"reason"}),
    ],
)
def test_missing_or_bad_input_is_a_field_error(manager, state, name, inputs, fields):
    incident = incident_in(state, manager=manager)
    with pytest.raises(ValidationError) as err:
        services.TRANSITION_SERVICES[name](incident=incident, user=manager, **inputs)
    assert set(err.value.message_dict) == fields
    incident.refresh_from_db()
    assert incident.state == state
    assert not incident.timeline.filter(transition=name).exists()


def test_severity_override_needs_a_reason(manager):
    incident = incident_in("logged", manager=manager)
    with pytest.raises(ValidationError) as err:
        services.incident_classify(
            incident=incident, user=manager, category="security", urgency="low", impact="low", severity="S2"
        )
    assert set(err.value.message_dict) == {"severity_reason"}


def test_full_lifecycle_records_timeline_and_history(service_desk, sysadmin, manager):
    service = ServiceFactory(slug="ceph", name="Ceph storage")
    incident = services.incident_create(
        user=service_desk,
        title="Ceph HEALTH_WARN: 2 OSDs down",
        service=service,
        incident_type="host_failure",
    )
    incident = services.incident_classify(
        incident=incident, user=service_desk, category="infrastructure", urgency="high", impact="medium"
    )
    plan = ResponsePlan.objects.get(incident_type="host_failure")
    assert list(incident.checklist.values_list("text", flat=True)) == list(
        plan.steps.values_list("text", flat=True)
    )
    incident = services.incident_investigate(incident=incident, user=service_desk, assignee=sysadmin)
    step = incident.checklist.first()
    services.checklist_item_done(item=step, user=sysadmin)
    services.checklist_item_done(item=step, user=sysadmin)  # second tick changes nothing
    migrate_vms = incident.checklist.get(required=True)
    services.checklist_item_skip(item=migrate_vms, user=sysadmin, reason="No VM ran on the failed OSD host")
    services.comment_add(incident=incident, user=sysadmin, body="osd.7 SMART errors", visibility="internal")
    incident = services.incident_hold(incident=incident, user=sysadmin, reason="awaiting_vendor", note="RMA")
    incident = services.incident_resume(incident=incident, user=sysadmin, note="disk arrived")
    incident = services.incident_resolve(
        incident=incident, user=sysadmin, code="fixed", notes="disk replaced", **INVESTIGATION
    )
    incident = services.incident_close(incident=incident, user=manager, closure_notes="verified")

    assert incident.state == "closed" and incident.assignee == sysadmin
    # (Escalation's notifications to the reporter are tested with the escalation app.)
    timeline = list(
        incident.timeline.exclude(kind="notification").values_list("kind", "transition", "actor__username")
    )
    assert timeline == [
        ("created", "", "desk"),
        ("transition", "classify", "desk"),
        ("severity", "", "desk"),
        ("transition", "investigate", "desk"),
        ("assignment", "", "desk"),
        ("checklist", "", "sysadmin"),
        ("checklist_skip", "", "sysadmin"),
        ("comment", "", "sysadmin"),
        ("transition", "hold", "sysadmin"),
        ("transition", "resume", "sysadmin"),
        ("transition", "resolve", "sysadmin"),
        ("transition", "close", "manager"),
    ]
    step.refresh_from_db()
    assert step.done_by == sysadmin and step.done_at is not None

    history = list(incident.history.order_by("history_date", "history_id"))
    assert [(h.state, h.history_user.username) for h in history] == [
        ("logged", "desk"),
        ("classified", "desk"),
        ("investigating", "desk"),
        ("on_hold", "sysadmin"),
        ("investigating", "sysadmin"),
        ("resolved", "sysadmin"),
        ("closed", "manager"),
    ]
    assert history[3].history_change_reason == "hold: RMA"


def test_state_cannot_be_written_directly(manager):
    incident = incident_in("logged", manager=manager)
    with pytest.raises(AttributeError):
        incident.state = "closed"


def test_edits_touch_descriptive_fields_only(manager, sysadmin):
    incident = incident_in("investigating", manager=manager)
    with pytest.raises(ValidationError) as err:
        services.incident_update(incident=incident, user=manager, data={"state": "closed", "severity": "S4"})
    assert set(err.value.message_dict) == {"state", "severity"}

    incident = services.incident_update(
        incident=incident,
        user=manager,
        data={"title": "New title", "assignee": sysadmin, "change_ref": "CHG-7"},
    )
    kinds = list(incident.timeline.filter(kind__in=["assignment", "update"]).values_list("kind", "note"))
    assert ("assignment", "Assigned to sysadmin; now with Tier 2 (System Administrators)") in kinds
    assert ("update", "Edited title, change_ref") in kinds
    assert incident.history.first().history_change_reason == "edited: title, assignee, change_ref, tier"


def test_parent_and_detection_rules(manager):
    incident = incident_in("logged", manager=manager)
    with pytest.raises(ValidationError) as err:
        services.incident_update(
            incident=incident,
            user=manager,
            data={"parent": incident, "detected_at": incident.created_at.replace(year=2099)},
        )
    assert set(err.value.message_dict) == {"parent", "detected_at"}


def test_cancel_keeps_the_reason_and_leaves_no_clock_running(manager):
    incident = incident_in("classified", manager=manager)
    incident = services.incident_cancel(incident=incident, user=manager, reason="duplicate of INC-000001")
    assert incident.state == "cancelled"
    assert incident.cancel_reason == "duplicate of INC-000001"
    assert not Incident.objects.breached().filter(pk=incident.pk).exists()


def test_problem_links_list_incidents(manager):
    problem = services.problem_create(user=manager, title="Ceph OSD firmware bug", workaround="pin firmware")
    first = incident_in("investigating", manager=manager)
    second = incident_in("resolved", manager=manager)
    services.incident_update(incident=first, user=manager, data={"problem": problem})
    # A resolved incident's record is read-only: linking it is a correction, with its reason.
    services.incident_correct(incident=second, user=manager, data={"problem": problem}, reason="Same bug")
    assert problem.number.startswith("PRB-")
    assert set(problem.incidents.values_list("pk", flat=True)) == {first.pk, second.pk}


def test_a_long_note_fits_the_history_reason_and_stays_whole_on_the_timeline(manager):
    incident = incident_in("investigating", manager=manager)
    note = "Waiting for the vendor's RMA decision on the failed controller. " * 10
    incident = services.incident_hold(incident=incident, user=manager, reason="awaiting_vendor", note=note)
    reason = incident.history.first().history_change_reason
    assert len(reason) == 100 and reason.startswith("hold: Waiting for the vendor")
    assert incident.timeline.get(transition="hold").note == note


def test_the_tier_follows_a_higher_tier_assignee_never_down(manager, service_desk, sysadmin, expert):
    incident = incident_in("classified", manager=manager)
    assert incident.tier == "tier1"
    incident = services.incident_investigate(incident=incident, user=service_desk, assignee=sysadmin)
    assert incident.tier == "tier2"
    incident = services.incident_update(incident=incident, user=manager, data={"assignee": expert})
    assert incident.tier == "tier3"
    incident = services.incident_update(incident=incident, user=manager, data={"assignee": service_desk})
    assert (incident.tier, incident.assignee) == ("tier3", service_desk)


def test_reclassifying_to_another_type_adds_its_runbook(manager):
    incident = incident_in("investigating", manager=manager, incident_type="network_outage")
    network_steps = list(incident.checklist.values_list("text", flat=True))
    services.checklist_item_done(item=incident.checklist.first(), user=manager)
    incident = services.incident_classify(
        incident=incident,
        user=manager,
        category="application",
        urgency="high",
        impact="high",
        incident_type="database_unavailable",
    )
    database_steps = list(
        ResponsePlan.objects.get(incident_type="database_unavailable").steps.values_list("text", flat=True)
    )
    assert list(incident.checklist.values_list("text", flat=True)) == network_steps + database_steps
    assert incident.checklist.filter(done_at__isnull=False).count() == 1
    services.incident_classify(
        incident=incident, user=manager, category="application", urgency="high", impact="high"
    )
    assert incident.checklist.count() == len(network_steps) + len(database_steps), "same type: nothing added"
