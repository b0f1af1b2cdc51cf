"""The escalation API: policies, who is on call, and escalate / declare-major / status-update / escalations
on an incident."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from escalation.models import (
    EscalationEvent,
    EscalationPolicy,
    EscalationStep,
    IncidentEscalation,
    Notification,
    Rotation,
    RotationMember,
    RotationOverride,
)
from incidents.choices import Role
from tests.factories import ServiceFactory, incident_in, make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def url(incident, action):
    return f"/api/v1/incidents/{incident.number}/{action}/"


def s4(manager, state="investigating", **kwargs):
    """Not an emergency (S1 would make it major on classification)."""
    return incident_in(state, manager=manager, urgency="low", impact="low", **kwargs)


# --- policies -------------------------------------------------------------------------------------------

STEP = {"clock": "resolution", "percent": 50, "level": 1, "notify_tier_group": True, "notify_oncall": "tier"}


def test_policies_list_every_severity_with_ordered_steps(api_as, service_desk):
    rows = api_as(service_desk).get("/api/v1/escalation-policies/").data
    assert [r["severity"] for r in rows] == ["S1", "S2", "S3", "S4"]
    s1 = rows[0]["steps"]
    assert [(s["order"], s["clock"], s["percent"], s["level"]) for s in s1] == [
        (1, "response", 100, 1),
        (2, "resolution", 50, 1),
        (3, "resolution", 75, 2),
        (4, "resolution", 100, 3),
    ]
    assert s1[0] == {
        "order": 1,
        "clock": "response",
        "percent": 100,
        "offset": None,
        "level": 1,
        "notify_group": None,
        "notify_tier_group": True,
        "notify_oncall": "tier",
    }
    assert s1[3]["notify_group"] == Role.MANAGEMENT


def test_policy_detail_by_severity(api_as, service_desk):
    client = api_as(service_desk)
    assert client.get("/api/v1/escalation-policies/S2/").data["severity"] == "S2"
    assert client.get("/api/v1/escalation-policies/S9/").status_code == 404


@pytest.mark.parametrize("role", [Role.SERVICE_DESK, Role.SYSADMINS, Role.MANAGEMENT])
def test_policy_put_is_for_incident_managers(api_as, role):
    before = list(EscalationStep.objects.filter(policy__severity="S1").values_list("pk", flat=True))
    response = api_as(make_user(role, username="someone")).put(
        "/api/v1/escalation-policies/S1/", {"steps": [STEP]}, format="json"
    )
    assert response.status_code == 403
    assert response.data["code"] == "permission_denied"
    assert list(EscalationStep.objects.filter(policy__severity="S1").values_list("pk", flat=True)) == before


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({**STEP, "offset": "00:30:00"}, "not both"),
        ({**STEP, "percent": None}, "not both"),
        ({**STEP, "percent": 0}, "between 1 and 1000"),
        ({**STEP, "notify_tier_group": False, "notify_oncall": ""}, "at least one target"),
        ({**STEP, "offset": "-00:05:00", "percent": None}, "positive"),
    ],
)
def test_policy_put_rejects_invalid_steps(api_as, manager, step, message):
    response = api_as(manager).put("/api/v1/escalation-policies/S1/", {"steps": [STEP, step]}, format="json")
    assert response.status_code == 400, response.data
    assert any(m.startswith("Step 2:") and message in m for m in response.data["errors"]["steps"])
    assert EscalationStep.objects.filter(policy__severity="S1").count() == 4


@pytest.mark.parametrize(
    "body",
    [
        {"steps": [{**STEP, "level": 4}]},
        {"steps": [{**STEP, "clock": "lunch"}]},
        {"steps": [{**STEP, "notify_group": "No Such Group"}]},
        {"steps": [{**STEP, "offset": "soon", "percent": None}]},
        {"steps": []},
        {},
    ],
)
def test_policy_put_rejects_unparsable_input(api_as, manager, body):
    response = api_as(manager).put("/api/v1/escalation-policies/S1/", body, format="json")
    assert response.status_code == 400, response.data
    assert response.data["code"] == "invalid" and "steps" in response.data["errors"]
    assert EscalationStep.objects.filter(policy__severity="S1").count() == 4


def test_policy_put_replaces_the_steps_and_keeps_history(api_as, manager):
    final = EscalationStep.objects.get(policy__severity="S1", clock="resolution", percent=100)
    body = {
        "steps": [
            {"clock": "response", "offset": "00:05:00", "level": 1, "notify_oncall": "tier"},
            {
                **STEP,
                "percent": 80,
                "level": 2,
                "notify_oncall": "incident_manager",
                "notify_tier_group": False,
            },
            {"clock": "resolution", "percent": 100, "level": 3, "notify_group": Role.MANAGEMENT},
        ]
    }
    response = api_as(manager).put("/api/v1/escalation-policies/S1/", body, format="json")
    assert response.status_code == 200, response.data
    steps = response.data["steps"]
    assert [(s["order"], s["clock"], s["percent"], s["offset"], s["level"]) for s in steps] == [
        (1, "response", None, "00:05:00", 1),
        (2, "resolution", 80, None, 2),
        (3, "resolution", 100, None, 3),
    ]
    assert steps[2]["notify_group"] == Role.MANAGEMENT
    policy = EscalationPolicy.objects.get(severity="S1")
    assert policy.steps.count() == 3 and policy.steps.filter(pk=final.pk).exists(), (
        "same threshold, same step"
    )
    record = policy.history.first()
    assert record.history_user == manager and record.history_change_reason.startswith("Steps replaced")
    deleted = EscalationStep.history.filter(history_type="-", policy_id=policy.pk)
    assert deleted.count() == 3 and {h.history_user for h in deleted} == {manager}


def test_policy_put_keeps_steps_whose_threshold_is_unchanged(api_as, manager):
    """Fired steps are recorded by step id: re-sending a policy must not make them fire again."""
    client = api_as(manager)
    before = {
        s.percent: s.pk for s in EscalationStep.objects.filter(policy__severity="S2", clock="resolution")
    }
    current = client.get("/api/v1/escalation-policies/S2/").data["steps"]
    current[1]["notify_oncall"] = ""  # resolution 50%: now notifies the tier group only
    response = client.put("/api/v1/escalation-policies/S2/", {"steps": current}, format="json")
    assert response.status_code == 200, response.data
    after = {s.percent: s for s in EscalationStep.objects.filter(policy__severity="S2", clock="resolution")}
    assert {p: s.pk for p, s in after.items()} == before
    assert after[50].notify_oncall == ""


def test_policy_put_reschedules_open_incidents_of_that_severity_only(api_as, manager):
    with time_machine.travel(T0, tick=False):
        open_s4 = s4(manager, state="classified")
        resolved_s4 = s4(manager, state="resolved")
        s3 = incident_in("classified", manager=manager, urgency="medium", impact="medium")
    s3_due = IncidentEscalation.objects.get(incident=s3).next_escalation_at
    assert IncidentEscalation.objects.get(incident=open_s4).next_escalation_at == T0 + timedelta(hours=24)

    body = {"steps": [{"clock": "response", "offset": "00:10:00", "level": 1, "notify_oncall": "tier"}]}
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        assert api_as(manager).put("/api/v1/escalation-policies/S4/", body, format="json").status_code == 200
    assert IncidentEscalation.objects.get(incident=open_s4).next_escalation_at == T0 + timedelta(minutes=10)
    assert IncidentEscalation.objects.get(incident=resolved_s4).next_escalation_at is None
    assert IncidentEscalation.objects.get(incident=s3).next_escalation_at == s3_due


def test_policy_patch_and_delete_are_not_offered(api_as, manager):
    client = api_as(manager)
    assert client.patch("/api/v1/escalation-policies/S1/", {}, format="json").status_code == 405
    assert client.delete("/api/v1/escalation-policies/S1/").status_code == 405
    assert client.post("/api/v1/escalation-policies/", {}, format="json").status_code == 405


# --- on call --------------------------------------------------------------------------------------------


@pytest.fixture
def rotations(db):
    tier2 = Rotation.objects.create(
        name="Sysadmins on call",
        kind="tier2",
        shift_length=timedelta(days=7),
        handoff_time=time(9, 0),
        time_zone="UTC",
        start_date=date(2026, 5, 4),
    )
    for order, name in enumerate(["ana", "ben"]):
        RotationMember.objects.create(
            rotation=tier2, user=make_user(Role.SYSADMINS, username=name), order=order
        )
    RotationOverride.objects.create(
        rotation=tier2,
        user=make_user(Role.SYSADMINS, username="sub"),
        starts_at=datetime(2026, 5, 5, 12, tzinfo=UTC),
        ends_at=datetime(2026, 5, 6, 12, tzinfo=UTC),
        reason="ana at a conference",
    )
    Rotation.objects.create(name="Incident Managers on duty", kind="incident_manager", time_zone="UTC")
    return tier2


def test_oncall_lists_each_rotation_current_person(api_as, sysadmin, rotations):
    with time_machine.travel(datetime(2026, 5, 5, 10, tzinfo=UTC), tick=False):
        rows = api_as(sysadmin).get("/api/v1/oncall/").data  # a support role: with e-mail addresses
    assert rows == [
        {
            "rotation": "Incident Managers on duty",
            "kind": "incident_manager",
            "user": None,
            "email": None,
            "starts_at": None,
            "ends_at": None,
            "is_override": False,
        },
        {
            "rotation": "Sysadmins on call",
            "kind": "tier2",
            "user": "ana",
            "email": "ana@lab.example",
            "starts_at": "2026-05-04T09:00:00Z",
            "ends_at": "2026-05-11T09:00:00Z",
            "is_override": False,
        },
    ]


def test_oncall_at_a_moment_shows_the_override(api_as, outsider, rotations):
    client = api_as(outsider)
    during = client.get("/api/v1/oncall/", {"at": "2026-05-05T14:00:00Z"}).data[1]
    assert (during["user"], during["is_override"]) == ("sub", True)
    assert (during["starts_at"], during["ends_at"]) == ("2026-05-05T12:00:00Z", "2026-05-06T12:00:00Z")
    later = client.get("/api/v1/oncall/", {"at": "2026-05-12T10:00:00+02:00"}).data[1]
    assert (later["user"], later["is_override"]) == ("ben", False)


def test_oncall_rejects_a_bad_moment_and_anonymous_callers(api, api_as, outsider, rotations):
    response = api_as(outsider).get("/api/v1/oncall/", {"at": "tomorrow-ish"})
    assert response.status_code == 400 and "at" in response.data["errors"]
    assert api.get("/api/v1/oncall/").status_code == 401


# --- functional escalation ------------------------------------------------------------------------------


def test_escalate_tier_by_tier_then_409_past_external(api_as, manager, service_desk):
    incident = s4(manager)
    client = api_as(service_desk)
    for expected in ["tier2", "tier3", "external"]:
        response = client.post(url(incident, "escalate"), {"reason": "needs deeper expertise"}, format="json")
        assert response.status_code == 200, response.data
        assert response.data["tier"] == expected and response.data["number"] == incident.number
    response = client.post(url(incident, "escalate"), {"reason": "still stuck"}, format="json")
    assert response.status_code == 409
    assert response.data["code"] == "conflict" and "External Support" in response.data["detail"]
    events = EscalationEvent.objects.filter(incident=incident, kind="functional").order_by("pk")
    assert [(e.from_tier, e.to_tier, e.actor) for e in events] == [
        ("tier1", "tier2", service_desk),
        ("tier2", "tier3", service_desk),
        ("tier3", "external", service_desk),
    ]


def test_escalate_assigns_the_tier_on_call_person(api_as, manager, service_desk, rotations):
    incident = s4(manager)
    with time_machine.travel(datetime(2026, 5, 5, 10, tzinfo=UTC), tick=False):
        response = api_as(service_desk).post(
            url(incident, "escalate"), {"reason": "disk array"}, format="json"
        )
    assert response.status_code == 200, response.data
    assert (response.data["tier"], response.data["assignee"]) == ("tier2", "ana")
    assert Notification.objects.filter(
        incident=incident, template="escalation", recipient="ana@lab.example"
    ).exists()


def test_escalate_to_a_chosen_tier_but_never_downward(api_as, manager, service_desk):
    incident = s4(manager)
    client = api_as(service_desk)
    response = client.post(
        url(incident, "escalate"), {"reason": "vendor bug", "tier": "tier3"}, format="json"
    )
    assert response.status_code == 200 and response.data["tier"] == "tier3"
    for tier in ("tier1", "tier3"):
        response = client.post(url(incident, "escalate"), {"reason": "back", "tier": tier}, format="json")
        assert response.status_code == 409, tier
        assert "upward only" in response.data["detail"]


def test_escalate_refusals(api_as, manager, management, outsider, service_desk):
    incident = s4(manager)
    denied = api_as(management).post(url(incident, "escalate"), {"reason": "x"}, format="json")
    assert denied.status_code == 403
    # Reporters without a role do not see other people's incidents at all.
    assert api_as(outsider).post(url(incident, "escalate"), {"reason": "x"}, format="json").status_code == 404
    client = api_as(service_desk)
    invalid = client.post(url(incident, "escalate"), {"reason": ""}, format="json")
    assert invalid.status_code == 400 and "reason" in invalid.data["errors"]
    invalid = client.post(url(incident, "escalate"), {"reason": "x", "tier": "tier9"}, format="json")
    assert invalid.status_code == 400 and "tier" in invalid.data["errors"]
    resolved = s4(manager, state="resolved")
    assert client.post(url(resolved, "escalate"), {"reason": "x"}, format="json").status_code == 409
    assert EscalationEvent.objects.filter(kind="functional").count() == 0


# --- major incidents and status updates -----------------------------------------------------------------


def test_declare_major_is_for_incident_managers(api_as, manager, service_desk):
    incident = s4(manager)
    denied = api_as(service_desk).post(url(incident, "declare-major"), {"reason": "outage"}, format="json")
    assert denied.status_code == 403
    incident.refresh_from_db()
    assert not incident.is_major

    response = api_as(manager).post(
        url(incident, "declare-major"), {"reason": "whole cluster down"}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.data["is_major"] is True
    event = EscalationEvent.objects.get(incident=incident, kind="emergency")
    assert (event.actor, event.reason) == (manager, "whole cluster down")
    assert Notification.objects.filter(incident=incident, template="page").exists()


def test_clear_major_with_major_false(api_as, manager):
    incident = s4(manager)
    client = api_as(manager)
    client.post(url(incident, "declare-major"), {"reason": "outage"}, format="json")
    response = client.post(
        url(incident, "declare-major"), {"reason": "contained", "major": False}, format="json"
    )
    assert response.status_code == 200 and response.data["is_major"] is False
    assert client.post(url(incident, "declare-major"), {}, format="json").status_code == 400


def test_status_update_goes_to_the_service_stakeholders(api_as, manager, sysadmin):
    service = ServiceFactory(stakeholder_emails="ops@lab.example, users@lab.example")
    incident = s4(manager, service=service)
    response = api_as(sysadmin).post(
        url(incident, "status-update"), {"message": "Disk replaced, rebuilding"}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.data["number"] == incident.number
    updates = Notification.objects.filter(incident=incident, template="status_update")
    assert {"ops@lab.example", "users@lab.example"} <= set(updates.values_list("recipient", flat=True))
    assert all("Disk replaced, rebuilding" in n.body for n in updates)


def test_status_update_refusals(api_as, manager, management, service_desk):
    incident = s4(manager)
    denied = api_as(management).post(url(incident, "status-update"), {"message": "hi"}, format="json")
    assert denied.status_code == 403
    invalid = api_as(service_desk).post(url(incident, "status-update"), {"message": ""}, format="json")
    assert invalid.status_code == 400 and "message" in invalid.data["errors"]
    assert not Notification.objects.filter(incident=incident, template="status_update").exists()


# --- the escalation record ------------------------------------------------------------------------------


def test_escalations_lists_the_incident_escalations(api_as, manager, service_desk, management, outsider):
    incident = s4(manager, reporter=outsider)
    api_as(service_desk).post(url(incident, "escalate"), {"reason": "needs a sysadmin"}, format="json")
    api_as(manager).post(url(incident, "declare-major"), {"reason": "spreading"}, format="json")
    rows = api_as(management).get(url(incident, "escalations")).data
    assert [(r["kind"], r["key"], r["from_tier"], r["to_tier"], r["actor"]) for r in rows] == [
        ("functional", "functional-1", "tier1", "tier2", "desk"),
        ("emergency", "emergency-1", "", "", "manager"),
    ]
    assert rows[0]["reason"] == "needs a sysadmin" and rows[0]["level"] is None
    assert set(rows[0]) == {
        "kind", "key", "level", "from_tier", "to_tier", "due_at", "fired_at", "actor", "reason",
    }  # fmt: skip
    # The reporter sees the incident but not its internal escalation record.
    assert api_as(outsider).get(url(incident, "escalations")).status_code == 403
    assert api_as(outsider).get("/api/v1/incidents/INC-999999/escalations/").status_code == 404


def test_hierarchical_escalations_are_listed_with_their_level(api_as, manager):
    with time_machine.travel(T0, tick=False):
        incident = s4(manager, state="classified")
    from escalation import services

    with time_machine.travel(T0 + timedelta(hours=24), tick=False):
        services.sweep()
    (row,) = api_as(manager).get(url(incident, "escalations")).data
    assert (row["kind"], row["level"], row["actor"]) == ("hierarchical", 1, None)
    assert row["due_at"] == "2026-05-05T08:00:00Z"


def test_classifying_s1_answers_with_the_incident_already_major(api_as, manager):
    incident = incident_in("logged", manager=manager)
    response = api_as(manager).post(
        f"/api/v1/incidents/{incident.number}/classify/",
        {"category": "infrastructure", "urgency": "high", "impact": "high"},
        format="json",
    )
    assert response.status_code == 200
    assert (response.data["severity"], response.data["is_major"]) == ("S1", True)
