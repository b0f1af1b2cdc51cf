"""Escalation policies have at most 20 steps (service, API and admin alike); a policy stored before the
limit, however long, is swept in linear time and replaced without deadlocking with a sweep in progress."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from escalation import services
from escalation.models import EscalationEvent, EscalationPolicy, EscalationStep, IncidentEscalation
from escalation.reference_data import DEFAULT_STEPS
from incidents import services as incident_services
from incidents.exceptions import ValidationError
from incidents.models import Incident
from tests.escalation.test_admin import policy_form_data
from tests.factories import ServiceFactory

LIMIT = 20  # escalation.services.policies.MAX_STEPS
TOO_MANY = f"A policy has at most {LIMIT} steps."


def step(minutes: int, order: int | None = None) -> dict:
    return {
        "order": order or minutes,
        "clock": "resolution",
        "offset": timedelta(minutes=minutes),
        "level": 1,
        "notify_tier_group": True,
    }


def api_step(minutes: int) -> dict:
    return {"clock": "resolution", "offset": f"00:{minutes:02d}:00", "level": 1, "notify_tier_group": True}


def default_steps() -> list[dict]:
    return [{**spec, "notify_group": None} for spec in DEFAULT_STEPS if "group" not in spec]


def legacy_policy(severity: str, steps: list[dict]) -> EscalationPolicy:
    """A policy as stored before the limit: rows written directly, as the old service allowed."""
    policy = EscalationPolicy.objects.get(severity=severity)
    policy.steps.all().delete()
    EscalationStep.objects.bulk_create(EscalationStep(policy=policy, **spec) for spec in steps)
    return policy


def s4_incident(manager, *, logged_ago: timedelta):
    with time_machine.travel(timezone.now() - logged_ago, tick=False):
        incident = incident_services.incident_create(
            user=manager, title="Portal slow", service=ServiceFactory()
        )
        return incident_services.incident_classify(
            incident=incident, user=manager, category="application", urgency="low", impact="low"
        )


# --- at most 20 steps ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_service_refuses_more_than_20_steps_at_once(manager):
    policy = EscalationPolicy.objects.get(severity="S1")
    with pytest.raises(ValidationError) as caught:
        services.policy_replace_steps(policy=policy, user=manager, steps=[step(1)] * 5000)
    assert caught.value.message_dict == {"steps": [TOO_MANY]}
    assert policy.steps.count() == 4


@pytest.mark.django_db
def test_twenty_steps_are_accepted(manager):
    policy = EscalationPolicy.objects.get(severity="S1")
    services.policy_replace_steps(policy=policy, user=manager, steps=[step(m) for m in range(1, 21)])
    assert policy.steps.count() == LIMIT


@pytest.mark.django_db
def test_the_api_answers_400_for_21_steps(api_as, manager):
    client = api_as(manager)
    response = client.put(
        "/api/v1/escalation-policies/S1/", {"steps": [api_step(m) for m in range(1, 22)]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"steps": [TOO_MANY]}
    assert EscalationStep.objects.filter(policy__severity="S1").count() == 4

    response = client.put(
        "/api/v1/escalation-policies/S1/", {"steps": [api_step(m) for m in range(1, 21)]}, format="json"
    )
    assert response.status_code == 200
    assert len(response.json()["steps"]) == LIMIT


@pytest.mark.django_db
def test_the_admin_shows_the_limit_on_the_steps(client, manager):
    policy = EscalationPolicy.objects.get(severity="S3")
    url = reverse("admin:escalation_escalationpolicy_change", args=[policy.pk])
    client.force_login(manager)
    page = client.get(url)
    assert page.context["inline_admin_formsets"][0].formset.max_num == LIMIT
    data = policy_form_data(page)
    for i in range(4, LIMIT + 1):
        data.update(
            {
                f"steps-{i}-order": i + 1,
                f"steps-{i}-clock": "resolution",
                f"steps-{i}-offset": f"{i}:00:00",
                f"steps-{i}-level": 1,
                f"steps-{i}-notify_tier_group": "on",
                f"steps-{i}-policy": policy.pk,
            }
        )
    data["steps-TOTAL_FORMS"] = LIMIT + 1

    response = client.post(url, data)

    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.non_form_errors() == [TOO_MANY]
    assert policy.steps.count() == 4


# --- a long legacy policy: linear sweep, restore without deadlock ---------------------------------------------


@pytest.mark.django_db
def test_firing_many_due_steps_reads_the_policy_once(manager):
    legacy_policy("S4", [step(m) for m in range(1, 201)])
    incident = s4_incident(manager, logged_ago=timedelta(hours=4))
    IncidentEscalation.objects.filter(incident=incident).update(next_escalation_at=timezone.now())

    with CaptureQueriesContext(connection) as queries:
        assert services.sweep() == 200

    step_reads = [q for q in queries.captured_queries if 'FROM "escalation_escalationstep"' in q["sql"]]
    # Once to fire what is due, once to schedule what comes next: not once per step fired.
    assert len(step_reads) <= 2, len(step_reads)
    assert EscalationEvent.objects.filter(incident=incident).count() == 200
    assert services.sweep() == 0


@pytest.mark.django_db
def test_restoring_the_default_replaces_a_long_legacy_policy(manager):
    policy = legacy_policy("S4", [step(m) for m in range(1, 301)])
    incident = s4_incident(manager, logged_ago=timedelta(minutes=30))
    services.fire_due(incident_id=incident.pk)

    services.policy_replace_steps(policy=policy, user=manager, steps=default_steps())

    assert policy.steps.count() == len(default_steps())
    record = IncidentEscalation.objects.get(incident=incident)
    assert record.next_step.policy_id == policy.pk
    assert EscalationEvent.objects.filter(incident=incident, step__isnull=True).count() == 30


@pytest.mark.django_db(transaction=True)
def test_restoring_the_default_waits_for_a_sweep_instead_of_deadlocking(postgres, reference_data, manager):
    """The sweep holds the incident and references each step as it fires it; the replacement deletes
    steps and clears the schedule pointing at them. Taken in opposite orders, PostgreSQL aborted one of
    them ("deadlock detected"); now the replacement locks the incident first and waits."""
    # Fired in due order X, Y, Z; deleted in policy order Y, Z, X: the sweep pauses after firing X.
    policy = legacy_policy("S4", [step(1, order=10), step(2, order=1), step(3, order=5)])
    incident = s4_incident(manager, logged_ago=timedelta(hours=1))
    paused, go = threading.Event(), threading.Event()
    results: dict = {}

    def notify_then_wait(**kwargs):
        if not paused.is_set():
            paused.set()
            go.wait(timeout=20)

    def sweep():
        try:
            with mock.patch("escalation.services.hierarchical.notify", notify_then_wait):
                results["sweep"] = services.fire_due(incident_id=incident.pk)
        except Exception as exc:  # collected for the assertions
            results["sweep"] = exc
        finally:
            connection.close()

    def restore():
        try:
            results["restore"] = services.policy_replace_steps(
                policy=policy, user=manager, steps=default_steps()
            )
        except Exception as exc:
            results["restore"] = exc
        finally:
            connection.close()

    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    assert paused.wait(timeout=20)
    restorer = threading.Thread(target=restore)
    restorer.start()
    time.sleep(1.5)  # the restore reaches its first lock while the sweep still holds its own
    go.set()
    sweeper.join(timeout=60)
    restorer.join(timeout=60)

    assert not isinstance(results["sweep"], Exception), results["sweep"]
    assert not isinstance(results["restore"], Exception), results["restore"]
    assert len(results["sweep"]) == 3
    assert policy.steps.count() == len(default_steps())
    assert EscalationEvent.objects.filter(incident=incident).count() == 3
    assert Incident.objects.get(pk=incident.pk).escalation.next_step.policy_id == policy.pk
