"""One table drives the role x transition permission tests (issue: lifecycle table, column "who")."""

import pytest

from incidents import services
from incidents.choices import Role
from incidents.exceptions import PermissionDenied
from tests.factories import INVESTIGATION, incident_in, make_user

SD, SA, SME, EXT = Role.SERVICE_DESK, Role.SYSADMINS, Role.EXPERTS, Role.EXTERNAL
IM, MGMT, SEC = Role.INCIDENT_MANAGERS, Role.MANAGEMENT, Role.SECURITY_TEAM
NO_ROLE = None

# transition: (state it starts from, inputs, roles allowed)
TABLE = {
    "classify": ("logged", {"category": "application", "urgency": "low", "impact": "low"}, {SD, IM}),
    "investigate": ("classified", {}, {SD, SA, SME, EXT, SEC, IM}),
    # hold/resume: the assignee's tier (tier1 = Service Desk here; the assignee is someone else) or IM.
    "hold": ("investigating", {"reason": "awaiting_user", "note": "asked"}, {SD, IM}),
    "resume": ("on_hold", {"note": "answered"}, {SD, IM}),
    "resolve": (
        "investigating",
        {"code": "fixed", "notes": "done", **INVESTIGATION},
        {SD, SA, SME, EXT, SEC, IM},
    ),
    "close": ("resolved", {"closure_notes": "verified"}, {IM}),
    "reopen": ("resolved", {"reason": "came back"}, {SD, IM}),
    "cancel": ("classified", {"reason": "false alarm"}, {IM}),
}
ROLES = [SD, SA, SME, EXT, IM, MGMT, SEC, NO_ROLE]
CASES = [(name, role) for name in TABLE for role in ROLES]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role"), CASES, ids=[f"{n}-{r or 'no role'}" for n, r in CASES])
def test_who_may_take_each_transition(name, role):
    state, inputs, allowed = TABLE[name]
    incident = incident_in(state)  # driven there by an Incident Manager, who also reported it
    user = make_user(*([role] if role else []), username="actor")
    service = services.TRANSITION_SERVICES[name]

    assert (name in services.allowed_transitions(incident, user)) == (role in allowed)
    if role in allowed:
        service(incident=incident, user=user, **inputs)
        incident.refresh_from_db()
        assert incident.timeline.filter(transition=name, actor=user).exists()
    else:
        with pytest.raises(PermissionDenied):
            service(incident=incident, user=user, **inputs)
        incident.refresh_from_db()
        assert incident.state == state
        assert not incident.timeline.filter(actor=user).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [SA, SME, EXT, SEC])
def test_hold_is_open_to_the_assignees_tier_and_the_assignee(role, manager):
    incident = incident_in("investigating", manager=manager)
    colleague = make_user(role, username="colleague")
    with pytest.raises(PermissionDenied):
        services.incident_hold(incident=incident, user=colleague, reason="other", note="x")

    services.incident_update(incident=incident, user=manager, data={"assignee": colleague})
    incident = services.incident_hold(incident=incident, user=colleague, reason="other", note="waiting")
    assert incident.state == "on_hold"

    peer = make_user(role, username="peer")  # same tier as the assignee
    other_team = make_user(SME if role != SME else SA, username="other-team")
    assert "resume" not in services.allowed_transitions(incident, other_team)
    incident = services.incident_resume(incident=incident, user=peer, note="vendor answered")
    assert incident.state == "investigating"


@pytest.mark.django_db
def test_reporter_without_a_role_may_confirm_closure_and_reopen(manager):
    reporter = make_user(username="astronomer", is_staff=False)
    incident = incident_in("resolved", manager=manager, reporter=reporter)
    assert set(services.allowed_transitions(incident, reporter)) == {"close", "reopen"}
    incident = services.incident_reopen(incident=incident, user=reporter, reason="SDR still drops samples")
    assert incident.reopen_count == 1

    other = make_user(username="someone-else", is_staff=False)
    incident = services.incident_resolve(
        incident=incident, user=manager, code="fixed", notes="firmware", **INVESTIGATION
    )
    with pytest.raises(PermissionDenied):
        services.incident_close(incident=incident, user=other)
    incident = services.incident_close(incident=incident, user=reporter, note="confirmed working")
    assert incident.state == "closed"


@pytest.mark.django_db
def test_only_incident_managers_override_severity(service_desk, manager):
    incident = incident_in("logged", manager=manager)
    with pytest.raises(PermissionDenied):
        services.incident_classify(
            incident=incident,
            user=service_desk,
            category="security",
            urgency="low",
            impact="low",
            severity="S1",
            severity_reason="exposure of credentials",
        )
    incident = services.incident_classify(
        incident=incident,
        user=manager,
        category="security",
        urgency="low",
        impact="low",
        severity="S1",
        severity_reason="exposure of credentials",
    )
    assert incident.severity == "S1"
    event = incident.timeline.get(kind="severity")
    # Logging gave it the provisional S3, which the override replaces.
    assert event.data == {"from": "S3", "to": "S1", "matrix": "S4", "override": True, "provisional": True}
    assert "exposure of credentials" in event.note
