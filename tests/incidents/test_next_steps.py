"""Who acts next: `selectors.next_steps` reads the transitions' permission rules (`permissions.ACTORS`), and
the incident page's header says who may act when nothing is open to the viewer."""

import pytest
from django.urls import reverse

from incidents import selectors, services
from incidents.choices import Role, State
from tests.factories import incident_in, make_user

pytestmark = pytest.mark.django_db


def change_url(incident):
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def described(step, user) -> bool:
    """Whether the step's description names `user`."""
    groups = set(user.groups.values_list("name", flat=True))
    return bool(
        groups & set(step.roles)
        or (step.reporter is not None and step.reporter == user)
        or (step.assignee is not None and step.assignee == user)
    )


@pytest.fixture
def people(db):
    users = {role: make_user(role, username=role.lower().replace(" ", "-")) for role in Role.ALL}
    users["reporter"] = make_user(username="walk-in", is_staff=False)
    users["colleague"] = make_user(Role.SYSADMINS, username="colleague")
    return users


def incidents_in_every_state(people):
    manager = people[Role.INCIDENT_MANAGERS]
    found = [incident_in(state, manager=manager, reporter=people["reporter"]) for state in State]
    # Tier-bound rules (hold, resume) name the assignee and the teams of the assignee and the incident.
    with_sysadmin = incident_in(State.CLASSIFIED, manager=manager, reporter=people["reporter"])
    with_sysadmin = services.incident_investigate(
        incident=with_sysadmin, user=manager, assignee=people["colleague"]
    )
    on_hold = services.incident_hold(incident=with_sysadmin, user=manager, reason="other", note="waiting")
    found.append(on_hold)
    with_expert = incident_in(State.CLASSIFIED, manager=manager, reporter=people["reporter"])
    found.append(
        services.incident_investigate(incident=with_expert, user=manager, assignee=people[Role.EXPERTS])
    )
    return found


def test_the_description_agrees_with_the_permission_rules(people):
    """For every state, transition and role (and the reporter and the assignee), the selector names
    exactly who the django-fsm permission callable lets through."""
    for incident in incidents_in_every_state(people):
        steps = {step.transition: step for step in selectors.next_steps(incident=incident)}
        available = {t.name: t for t in incident.get_available_state_transitions()}
        assert set(steps) == set(available), incident.state
        for name, transition in available.items():
            for who, user in people.items():
                assert transition.has_perm(incident, user) == described(steps[name], user), (
                    incident.state,
                    incident.assignee,
                    name,
                    who,
                )


def test_steps_name_the_roles_and_people(people):
    manager = people[Role.INCIDENT_MANAGERS]
    resolved = incident_in(State.RESOLVED, manager=manager, reporter=people["reporter"])
    close, reopen = selectors.next_steps(incident=resolved)
    assert (close.transition, close.roles, close.reporter) == (
        "close",
        (Role.INCIDENT_MANAGERS,),
        people["reporter"],
    )
    assert (reopen.label, reopen.roles) == ("Reopen", (Role.SERVICE_DESK, Role.INCIDENT_MANAGERS))
    assert selectors.next_steps(incident=incident_in(State.CLOSED, manager=manager)) == []


def test_the_header_says_who_may_act_when_the_viewer_may_not(client, people):
    people["reporter"].first_name, people["reporter"].last_name = "Ana", "Ruiz"
    people["reporter"].save()
    manager = people[Role.INCIDENT_MANAGERS]
    resolved = incident_in(State.RESOLVED, manager=manager, reporter=people["reporter"])
    client.force_login(people[Role.MANAGEMENT])
    page = client.get(change_url(resolved))
    assert page.context["waiting_for"] == (
        "Waiting for an Incident Manager to close it, or the caller (Ana Ruiz) to confirm the fix; "
        "or the Service Desk or an Incident Manager to reopen it, or the caller (Ana Ruiz) to say the fix "
        "did not hold."
    )
    assert 'id="waiting-for">Waiting for an Incident Manager to close it' in page.content.decode()

    client.force_login(people[Role.SYSADMINS])
    logged = incident_in(State.LOGGED, manager=manager)
    assert client.get(change_url(logged)).context["waiting_for"] == (
        "Waiting for the Service Desk or an Incident Manager to classify it; or an Incident Manager to cancel it."
    )
    closed = incident_in(State.CLOSED, manager=manager)
    assert client.get(change_url(closed)).context["waiting_for"] == "Closed: nothing is waiting."

    # Whoever has a transition open sees its button instead.
    client.force_login(manager)
    page = client.get(change_url(resolved))
    assert "waiting_for" not in page.context
    assert 'data-transition="close"' in page.content.decode()


def test_tier_bound_steps_name_the_assignee(client, people):
    manager = people[Role.INCIDENT_MANAGERS]
    people["colleague"].first_name, people["colleague"].last_name = "Sam", "Mills"
    people["colleague"].save()
    incident = incident_in(State.CLASSIFIED, manager=manager)
    incident = services.incident_investigate(incident=incident, user=manager, assignee=people["colleague"])
    client.force_login(people[Role.MANAGEMENT])
    text = client.get(change_url(incident)).context["waiting_for"]
    assert "the assignee (Sam Mills), a System Administrator or an Incident Manager to put it on hold" in text
