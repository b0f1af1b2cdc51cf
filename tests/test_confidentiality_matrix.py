"""Who sees and does what: one table, tested as role x endpoint x incident kind through the API and the
admin (issue "Trust first", item 1).

Three kinds of incident, each under investigation by an Incident Manager and reported by a lab user
without a role: an ordinary one at Tier 1, a security incident, and an ordinary one that reached the
external tier. An incident a role may not see answers 404 everywhere (never 403), and is missing from
lists and their counts; a write the role may not make on an incident it sees answers 403.
"""

import pytest
from django.urls import reverse

from escalation import services as escalation_services
from incidents import services
from incidents.choices import Role, State
from incidents.models import Incident
from incidents.selectors import may_see, visible_incidents
from tests.factories import ServiceFactory, make_user

SD, SA, SME, EXT = Role.SERVICE_DESK, Role.SYSADMINS, Role.EXPERTS, Role.EXTERNAL
IM, MGMT, SEC = Role.INCIDENT_MANAGERS, Role.MANAGEMENT, Role.SECURITY_TEAM
OPS = Role.OPERATIONS
REPORTER, OUTSIDER = "reporter (no role)", "outsider (no role)"

ORDINARY, SECURITY, EXTERNAL = "ordinary", "security", "external tier"
KINDS = (ORDINARY, SECURITY, EXTERNAL)

READ = ("retrieve", "timeline")
WRITES = ("patch", "internal note", "tick", "resolve", "escalate", "status update")
SUPPORT_WRITES = set(WRITES)
RECORDS = {"internal notes", "history", "escalations"}  # an incident's record beyond its public timeline

# The table: role -> (incident kinds it sees, writes it may make on them, records it may read of them)
TABLE = {
    SD: ({ORDINARY, EXTERNAL}, SUPPORT_WRITES, RECORDS),
    SA: ({ORDINARY, EXTERNAL}, SUPPORT_WRITES, RECORDS),
    SME: ({ORDINARY, EXTERNAL}, SUPPORT_WRITES, RECORDS),
    EXT: ({EXTERNAL}, {"patch", "internal note", "tick", "resolve", "escalate"}, set()),
    SEC: (set(KINDS), SUPPORT_WRITES, RECORDS),
    IM: (set(KINDS), SUPPORT_WRITES, RECORDS),
    MGMT: ({ORDINARY, EXTERNAL}, set(), RECORDS),
    OPS: ({ORDINARY, EXTERNAL}, set(), RECORDS),
    REPORTER: (set(KINDS), set(), set()),
    OUTSIDER: (set(), set(), set()),
}
ROLES = list(TABLE)

# What an allowed write answers; escalating an incident already with External Support is a conflict (there
# is no higher tier), whoever asks.
SUCCESS = {
    "patch": 200,
    "internal note": 201,
    "tick": 200,
    "resolve": 200,
    "escalate": 200,
    "status update": 200,
}


def expected(role, kind, action) -> int:
    kinds, writes, records = TABLE[role]
    if kind not in kinds:
        return 404
    if action in READ:
        return 200
    if action in RECORDS:
        return 200 if action in records else 403
    if action not in writes:
        return 403
    if action == "escalate" and kind == EXTERNAL:
        return 409
    return SUCCESS[action]


@pytest.fixture
def world(db, reference_data):
    """The three incidents, and a user for every row of the table."""
    manager = make_user(IM, username="duty-manager")
    reporter = make_user(username="researcher", is_staff=False)
    service = ServiceFactory(slug="ceph", name="Ceph storage")

    def investigated(category, incident_type, title):
        incident = services.incident_create(
            user=reporter, title=title, service=service, incident_type=incident_type
        )
        incident = services.incident_classify(
            incident=incident, user=manager, category=category, urgency="medium", impact="low"
        )
        incident = services.incident_investigate(incident=incident, user=manager)
        services.comment_add(incident=incident, user=manager, body="forensic image at /srv/evidence")
        for step in incident.checklist.filter(required=True):  # done: resolving waits for no runbook step
            services.checklist_item_done(item=step, user=manager)
        return incident

    incidents = {
        ORDINARY: investigated("infrastructure", "host_failure", "pve-03 down"),
        SECURITY: investigated("security", "unauthorized_access", "SSH brute force on the login node"),
        EXTERNAL: investigated("infrastructure", "host_failure", "RAID controller fault"),
    }
    escalation_services.escalate_tier(
        incident=incidents[EXTERNAL], user=manager, reason="vendor hardware", tier="external"
    )
    users = {role: make_user(role, username=f"as-{i}") for i, role in enumerate(ROLES[:8])}
    users[REPORTER] = reporter
    users[OUTSIDER] = make_user(username="someone-else", is_staff=False)
    return {"incidents": {k: Incident.objects.get(pk=v.pk) for k, v in incidents.items()}, "users": users}


def call(client, incident, action):
    base = f"/api/v1/incidents/{incident.number}/"
    if action == "retrieve":
        return client.get(base)
    if action in ("timeline", "escalations", "history"):
        return client.get(f"{base}{action}/")
    if action == "patch":
        return client.patch(base, {"title": "edited title"}, format="json")
    if action == "internal note":
        return client.post(f"{base}comments/", {"body": "note", "visibility": "internal"}, format="json")
    if action == "tick":
        step = incident.checklist.order_by("order").first()
        return client.post(f"{base}checklist/{step.pk}/done/")
    if action == "resolve":
        return client.post(
            f"{base}resolve/", {"resolution_code": "fixed", "resolution_notes": "done"}, format="json"
        )
    if action == "escalate":
        return client.post(f"{base}escalate/", {"reason": "needs more"}, format="json")
    if action == "status update":
        return client.post(f"{base}status-update/", {"message": "Still working on it"}, format="json")
    raise AssertionError(action)


@pytest.mark.parametrize("role", ROLES)
def test_reads(world, api_as, role):
    client = api_as(world["users"][role])
    for action in (*READ, "history", "escalations"):
        for kind, incident in world["incidents"].items():
            response = call(client, incident, action)
            assert response.status_code == expected(role, kind, action), (
                action,
                kind,
                response.content[:300],
            )


CASES = [(role, action) for role in ROLES for action in WRITES]


@pytest.mark.parametrize(("role", "action"), CASES, ids=[f"{r}-{a}" for r, a in CASES])
def test_writes(world, api_as, role, action):
    client = api_as(world["users"][role])
    for kind, incident in world["incidents"].items():
        response = call(client, incident, action)
        assert response.status_code == expected(role, kind, action), (kind, response.content[:300])
        if response.status_code >= 400:
            # Refused: the incident is as it was.
            assert Incident.objects.get(pk=incident.pk).state == State.INVESTIGATING


@pytest.mark.parametrize("role", ROLES)
def test_lists_and_counts_hold_only_what_the_role_sees(world, api_as, role):
    response = api_as(world["users"][role]).get("/api/v1/incidents/")
    assert response.status_code == 200
    listed = {row["number"] for row in response.json()["results"]}
    seen = {world["incidents"][kind].number for kind in TABLE[role][0]}
    assert listed == seen
    assert response.json()["count"] == len(seen)
    # Searching for a hidden incident's title finds nothing either.
    hidden = [world["incidents"][kind] for kind in KINDS if kind not in TABLE[role][0]]
    for incident in hidden:
        found = api_as(world["users"][role]).get("/api/v1/incidents/", {"search": incident.title.split()[0]})
        assert incident.number not in {row["number"] for row in found.json()["results"]}


@pytest.mark.parametrize("role", ROLES)
def test_internal_notes_only_for_roles_that_read_them(world, api_as, role):
    kinds, _, records = TABLE[role]
    client = api_as(world["users"][role])
    for kind in kinds:
        incident = world["incidents"][kind]
        notes = [e["note"] for e in client.get(f"/api/v1/incidents/{incident.number}/timeline/").json()]
        assert ("forensic image at /srv/evidence" in notes) == ("internal notes" in records), kind


STAFF_ROLES = [SD, SA, SME, EXT, SEC, IM, MGMT, OPS]


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_admin_shows_only_what_the_role_sees(world, client, role):
    client.force_login(world["users"][role])
    changelist = client.get(reverse("admin:incidents_incident_changelist"))
    assert changelist.status_code == 200
    kinds = TABLE[role][0]
    for kind, incident in world["incidents"].items():
        assert (incident.number in changelist.content.decode()) == (kind in kinds), kind
        page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
        transition = client.get(reverse("admin:incidents_incident_transition", args=[incident.pk, "resolve"]))
        if kind in kinds:
            assert page.status_code == 200, kind
        else:
            # The admin's answer for an object that does not exist: back to the list, nothing shown.
            assert page.status_code == 302 and page.url == reverse("admin:index"), kind
            assert transition.status_code == 302 and incident.title not in transition.content.decode()
    search = client.get(reverse("admin:incidents_incident_changelist"), {"q": "SSH"})
    assert (world["incidents"][SECURITY].number in search.content.decode()) == (SECURITY in kinds)


ADMIN_WRITES = {
    "resolve": (
        "admin:incidents_incident_transition",
        ("resolve",),
        {"resolution_code": "fixed", "resolution_notes": "done"},
    ),
    "internal note": ("admin:incidents_incident_comment", (), {"body": "note", "visibility": "internal"}),
    "status update": ("admin:incidents_incident_status_update", (), {"message": "Still on it"}),
    "escalate": ("admin:incidents_incident_escalate", (), {"reason": "needs more"}),
}
ADMIN_CASES = [(role, action) for role in STAFF_ROLES for action in ADMIN_WRITES]


@pytest.mark.parametrize(("role", "action"), ADMIN_CASES, ids=[f"{r}-{a}" for r, a in ADMIN_CASES])
def test_admin_writes_follow_the_same_table(world, client, role, action):
    """The admin's transition, comment and escalation views: the same rows of the table as the API."""
    from incidents.models import TimelineEvent

    client.force_login(world["users"][role])
    name, args, data = ADMIN_WRITES[action]
    for kind, incident in world["incidents"].items():
        before = TimelineEvent.objects.filter(incident=incident).count()
        response = client.post(reverse(name, args=[incident.pk, *args]), data)
        done = TimelineEvent.objects.filter(incident=incident).count() > before
        code = expected(role, kind, action)
        if code == 404:
            assert (response.status_code, response.url) == (302, reverse("admin:index")), kind
        assert done == (code < 400), (kind, code)


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_admin_escalation_records_follow_the_same_rule(world, client, role):
    client.force_login(world["users"][role])
    page = client.get(reverse("admin:escalation_escalationevent_changelist"))
    if "escalations" not in TABLE[role][2]:
        assert page.status_code == 403
        return
    assert page.status_code == 200
    # The functional escalation to External Support is the one event; it shows where the incident does.
    assert (world["incidents"][EXTERNAL].number in page.content.decode()) == (EXTERNAL in TABLE[role][0])


def test_a_security_incident_is_visible_to_its_assignee_and_reporter(world, api_as):
    incident = world["incidents"][SECURITY]
    sysadmin = world["users"][SA]
    assert api_as(sysadmin).get(f"/api/v1/incidents/{incident.number}/").status_code == 404
    manager = Incident.objects.get(pk=incident.pk).assignee
    services.incident_update(incident=incident, user=manager, data={"assignee": sysadmin})
    assert api_as(sysadmin).get(f"/api/v1/incidents/{incident.number}/").status_code == 200


def test_a_breach_logged_by_a_user_is_confidential_before_classification(world, api_as):
    reporter = world["users"][REPORTER]
    incident = services.incident_create(
        user=reporter, title="Phishing mail", incident_type="unauthorized_access"
    )
    assert incident.state == State.LOGGED
    assert api_as(world["users"][SD]).get(f"/api/v1/incidents/{incident.number}/").status_code == 404
    assert api_as(world["users"][SEC]).get(f"/api/v1/incidents/{incident.number}/").status_code == 200


def test_management_reads_but_cannot_log_incidents(world, api_as, client):
    boss = world["users"][MGMT]
    response = api_as(boss).post("/api/v1/incidents/", {"title": "printer"}, format="json")
    assert response.status_code == 403
    client.force_login(boss)
    assert client.get(reverse("admin:incidents_incident_add")).status_code == 403


def test_a_hidden_incident_cannot_be_named_as_a_parent(world, api_as):
    ordinary, breach = world["incidents"][ORDINARY], world["incidents"][SECURITY]
    response = api_as(world["users"][SA]).patch(
        f"/api/v1/incidents/{ordinary.number}/", {"parent": breach.number}, format="json"
    )
    assert response.status_code == 400 and "parent" in response.json()["errors"]
    assert (
        api_as(world["users"][SEC])
        .patch(f"/api/v1/incidents/{ordinary.number}/", {"parent": breach.number}, format="json")
        .status_code
        == 200
    )


@pytest.mark.parametrize("role", ROLES)
def test_the_python_form_of_the_rule_agrees_with_the_query(world, role):
    user = world["users"][role]
    visible = set(visible_incidents(user).values_list("pk", flat=True))
    for kind, incident in world["incidents"].items():
        assert may_see(user, incident) == (incident.pk in visible) == (kind in TABLE[role][0]), kind


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_admin_history_pages_follow_the_same_rule(world, client, role):
    client.force_login(world["users"][role])
    kinds, _, records = TABLE[role]
    for kind, incident in world["incidents"].items():
        version = incident.history.latest("history_id").history_id
        pages = [
            reverse("admin:incidents_incident_history", args=[incident.pk]),
            reverse("admin:incidents_incident_simple_history", args=[incident.pk, version]),
        ]
        for url in pages:
            response = client.get(url)
            if "history" not in records:  # refused whatever the incident: says nothing of its existence
                assert response.status_code == 403, (kind, url)
            elif kind not in kinds:
                assert (response.status_code, response.url) == (302, reverse("admin:index")), (kind, url)
            else:
                assert response.status_code == 200, (kind, url)
                assert incident.title in response.content.decode()
    # Malformed ids are "does not exist", never a 500.
    incident = world["incidents"][EXTERNAL]
    for url in (
        f"/admin/incidents/incident/{incident.pk}/history/abc/",
        "/admin/incidents/incident/abc/history/",
        "/admin/incidents/incident/%00/history/",
    ):
        assert client.get(url).status_code in (302, 403), url


def test_external_support_reads_no_internal_note_in_the_admin(world, client):
    incident = world["incidents"][EXTERNAL]
    client.force_login(world["users"][EXT])
    page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    assert incident.title in page and "forensic image" not in page
    preview = client.get(
        reverse("admin:incidents_incident_preview", args=[incident.pk]), {"template": "escalation"}
    ).content.decode()
    assert incident.number in preview and "forensic image" not in preview

    client.force_login(world["users"][SA])
    page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    assert "forensic image" in page
    preview = client.get(
        reverse("admin:incidents_incident_preview", args=[incident.pk]), {"template": "escalation"}
    ).content.decode()
    assert "forensic image" in preview


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_a_problem_lists_only_the_linked_incidents_the_reader_sees(world, client, role):
    manager = Incident.objects.get(pk=world["incidents"][ORDINARY].pk).assignee
    problem = services.problem_create(user=manager, title="Flaky RAID controllers")
    for incident in world["incidents"].values():
        services.incident_update(incident=incident, user=manager, data={"problem": problem})
    client.force_login(world["users"][role])
    page = client.get(reverse("admin:incidents_problem_change", args=[problem.pk]))
    assert page.status_code == 200
    for kind, incident in world["incidents"].items():
        assert (incident.title in page.content.decode()) == (kind in TABLE[role][0]), kind
    listing = client.get(reverse("admin:incidents_problem_changelist"))
    assert listing.context["cl"].result_list[0].incident_count == len(TABLE[role][0])


def test_a_hidden_parent_is_not_named(world, api_as, client):
    ordinary, breach = world["incidents"][ORDINARY], world["incidents"][SECURITY]
    security_user = world["users"][SEC]
    services.incident_update(incident=ordinary, user=security_user, data={"parent": breach})

    sysadmin = world["users"][SA]
    detail = api_as(sysadmin).get(f"/api/v1/incidents/{ordinary.number}/").json()
    assert detail["parent"] is None
    history = api_as(sysadmin).get(f"/api/v1/incidents/{ordinary.number}/history/").json()
    parents = [c["new"] for row in history for c in row["changes"] if c["field"] == "parent"]
    assert parents == ["(restricted)"]
    client.force_login(sysadmin)
    page = client.get(reverse("admin:incidents_incident_change", args=[ordinary.pk])).content.decode()
    assert breach.title not in page

    assert api_as(security_user).get(f"/api/v1/incidents/{ordinary.number}/").json()["parent"] == (
        breach.number
    )
