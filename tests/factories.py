"""Test data. Users get their roles as real groups (with the permissions the migration grants); incidents
are driven through the services, never by writing `state`, so tests exercise the real rules."""

from datetime import date

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from incidents import services
from incidents.choices import Role, State, category_of
from incidents.models import Service

User = get_user_model()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@lab.example")
    is_staff = True
    password = factory.django.Password("pw-for-tests-only")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            self.groups.add(Group.objects.get(name=role))


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    # Long in operation, unlike a new service (today): tests log incidents at travelled times, often before
    # the day they run; those about the date itself (tests/incidents/test_service_since.py) set it.
    in_service_since = date(2000, 1, 1)


def make_user(*roles: str, **kwargs):
    return UserFactory(roles=roles, **kwargs)


# What resolving an S1 or S2 incident needs besides a code and notes (seed 2.1: investigation).
INVESTIGATION = {"diagnosis": "osd.7 down: disk media errors", "root_cause": "Worn-out disk"}


def incident_in(state: str, *, manager=None, reporter=None, urgency="high", impact="high", **create_kwargs):
    """An incident driven through the real services up to `state` (classified with urgency x impact, in the
    category of its type; resolved with the investigation on record and the required runbook steps done)."""
    manager = manager or make_user(Role.INCIDENT_MANAGERS, username="fixture-manager")
    create_kwargs.setdefault("title", "Ceph OSD down on pve-03")
    create_kwargs.setdefault("service", ServiceFactory())
    incident = services.incident_create(user=reporter or manager, **create_kwargs)
    steps = {
        State.LOGGED: [],
        State.CLASSIFIED: ["classify"],
        State.INVESTIGATING: ["classify", "investigate"],
        State.ON_HOLD: ["classify", "investigate", "hold"],
        State.RESOLVED: ["classify", "investigate", "resolve"],
        State.CLOSED: ["classify", "investigate", "resolve", "close"],
        State.CANCELLED: ["cancel"],
    }[state]
    inputs = {
        "classify": {
            "category": category_of(create_kwargs.get("incident_type", "")) or "infrastructure",
            "urgency": urgency,
            "impact": impact,
        },
        "investigate": {},
        "hold": {"reason": "awaiting_vendor", "note": "RMA opened"},
        "resolve": {
            "code": "fixed",
            "notes": "Replaced the failed disk",
            **INVESTIGATION,
        },
        "close": {"closure_notes": "Fix verified; record complete"},
        "cancel": {"reason": "duplicate"},
    }
    for step in steps:
        if step == "resolve":
            for item in incident.checklist.filter(required=True):
                services.checklist_item_done(item=item, user=manager)
        incident = services.TRANSITION_SERVICES[step](incident=incident, user=manager, **inputs[step])
    return incident
