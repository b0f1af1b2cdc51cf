"""The database keeps what each state implies (issue #10, item 11): a write that skips the services (an
import, a script, a bug) cannot store an incident the lifecycle could not have produced."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from incidents.choices import State
from incidents.models import Incident
from tests.factories import incident_in

pytestmark = pytest.mark.django_db


def refused(incident, **values) -> bool:
    """Whether the database refuses to store `values` on the incident (an UPDATE that bypasses Python)."""
    try:
        with transaction.atomic():
            Incident.objects.filter(pk=incident.pk).update(**values)
    except IntegrityError:
        return True
    return False


def test_on_hold_needs_the_start_of_the_hold(manager):
    incident = incident_in(State.ON_HOLD, manager=manager)
    assert refused(incident, on_hold_since=None)
    assert not refused(incident, on_hold_since=incident.on_hold_since - timedelta(minutes=5))


@pytest.mark.parametrize("state", [State.RESOLVED, State.CLOSED])
def test_resolved_and_closed_need_their_resolution(manager, state):
    incident = incident_in(state, manager=manager, urgency="low", impact="low")
    assert refused(incident, resolved_at=None)
    assert refused(incident, resolution_code="")
    assert not refused(incident, resolution_code="workaround")


def test_closed_needs_its_closure(manager):
    incident = incident_in(State.CLOSED, manager=manager, urgency="low", impact="low")
    assert incident.closed_by
    assert refused(incident, closed_at=None)
    assert refused(incident, closed_by="")


def test_an_open_incident_needs_none_of_that(manager):
    incident = incident_in(State.INVESTIGATING, manager=manager, urgency="low", impact="low")
    assert not refused(incident, resolved_at=None, closed_at=None, on_hold_since=None, resolution_code="")
    assert refused(incident, state=State.CLOSED)  # nor can it jump to closed without them


def test_only_what_was_resolved_or_closed_carries_a_resolution_or_closure(manager):
    investigating = incident_in(State.INVESTIGATING, manager=manager, urgency="low", impact="low")
    assert refused(investigating, resolved_at=investigating.created_at)
    assert refused(investigating, resolution_code="fixed")
    assert refused(investigating, closed_by="staff")
    resolved = incident_in(State.RESOLVED, manager=manager, urgency="low", impact="low")
    assert refused(resolved, closed_at=resolved.resolved_at)
    assert refused(resolved, closed_by="auto")


def test_due_times_cannot_precede_logging(manager):
    incident = incident_in(State.CLASSIFIED, manager=manager, urgency="low", impact="low")
    before = incident.created_at - timedelta(seconds=1)
    assert refused(incident, response_due_at=before)
    assert refused(incident, resolution_due_at=before)
    assert not refused(incident, response_due_at=incident.created_at)


@pytest.mark.django_db(transaction=True)
def test_the_migration_repairs_older_rows_before_guarding_them():
    """Rows an older version let through get the nearest truthful values, so the constraints can be added."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.utils import timezone

    before, after = ("incidents", "0012_auto_close_schedule"), ("incidents", "0013_state_invariants")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps.get_model("incidents", "Incident")
    now = timezone.now()
    common = {"created_at": now, "detected_at": now, "updated_at": now}
    held = old.objects.create(number="INC-900001", title="held", state="on_hold", **common)
    reopened = old.objects.create(
        number="INC-900004",
        title="reopened",
        state="investigating",
        resolved_at=now,
        closed_by="staff",
        **common,
    )
    closed = old.objects.create(number="INC-900002", title="closed", state="closed", **common)
    early = old.objects.create(
        number="INC-900003", title="early", response_due_at=now - timedelta(hours=1), **common
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([after])
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    held, closed, early, reopened = (Incident.objects.get(pk=i.pk) for i in (held, closed, early, reopened))
    assert (reopened.resolved_at, reopened.closed_by) == (None, "")
    assert held.on_hold_since is not None
    assert (closed.resolution_code, closed.closed_by) == ("other", "staff")
    assert closed.resolved_at is not None and closed.closed_at is not None
    assert early.response_due_at == early.created_at
    assert refused(held, on_hold_since=None)
