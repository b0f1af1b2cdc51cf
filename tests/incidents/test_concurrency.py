"""Racing writers on PostgreSQL, with real threads and real connections: one wins, the other gets a clear
refusal, and nothing is half-written."""

import threading

import pytest
from django.db import connection

from incidents import services
from incidents.exceptions import TransitionNotAllowed
from incidents.models import Incident
from tests.factories import INVESTIGATION, incident_in

pytestmark = pytest.mark.django_db(transaction=True)


def race(*calls):
    """Run the calls at the same instant in separate threads; return their results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_two_different_transitions_from_one_state_never_both_succeed(
    postgres, reference_data, manager, attempt
):
    incident = incident_in("investigating", manager=manager)
    results = race(
        lambda: services.incident_resolve(
            incident=Incident.objects.get(pk=incident.pk),
            user=manager,
            code="fixed",
            notes="a",
            **INVESTIGATION,
        ),
        lambda: services.incident_hold(
            incident=Incident.objects.get(pk=incident.pk), user=manager, reason="other", note="b"
        ),
    )
    winners = [r for r in results if isinstance(r, Incident)]
    losers = [r for r in results if isinstance(r, TransitionNotAllowed)]
    assert len(winners) == 1 and len(losers) == 1, results
    incident.refresh_from_db()
    assert incident.state == winners[0].state
    assert incident.timeline.filter(transition__in=["resolve", "hold"]).count() == 1
    assert incident.history.filter(state__in=["resolved", "on_hold"]).count() == 1


def test_the_same_transition_twice_at_once_happens_once(postgres, reference_data, manager):
    incident = incident_in("resolved", manager=manager)
    results = race(
        *[
            (
                lambda: services.incident_reopen(
                    incident=Incident.objects.get(pk=incident.pk), user=manager, reason="r"
                )
            )
            for _ in range(4)
        ]
    )
    assert sum(isinstance(r, Incident) for r in results) == 1, results
    incident.refresh_from_db()
    assert incident.reopen_count == 1


def test_concurrent_logging_gets_distinct_numbers(postgres, reference_data, manager):
    results = race(
        *[(lambda n=n: services.incident_create(user=manager, title=f"storm {n}")) for n in range(8)]
    )
    assert all(isinstance(r, Incident) for r in results), results
    numbers = {r.number for r in results}
    assert len(numbers) == 8
