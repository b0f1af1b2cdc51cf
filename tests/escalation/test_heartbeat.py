"""The escalation sweep records each success, and `sweep_health` tells from its age whether the sweep (and so
the Celery worker and beat) is still running: stale after SWEEP_STALE_AFTER seconds, or when it never ran."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from escalation import services, tasks
from escalation.models import Heartbeat
from escalation.selectors import JobHealth, sweep_health

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def at(moment):
    return time_machine.travel(moment, tick=False)


def test_every_successful_sweep_moves_the_one_heartbeat_forward():
    with at(NOON):
        tasks.sweep()
    with at(NOON + timedelta(minutes=1)):
        tasks.sweep()
    assert list(Heartbeat.objects.values_list("name", "last_success_at")) == [
        ("escalation_sweep", NOON + timedelta(minutes=1))
    ]


def test_a_failing_sweep_records_nothing(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away mid-sweep")

    monkeypatch.setattr(services, "requeue_pending", broken)
    with at(NOON), pytest.raises(RuntimeError):
        tasks.sweep()
    assert not Heartbeat.objects.exists()


@pytest.mark.parametrize(
    ("last_run", "ok"),
    [
        (timedelta(minutes=1), True),
        (timedelta(minutes=5), True),  # SWEEP_STALE_AFTER = 300 s: still within it
        (timedelta(minutes=5, seconds=1), False),
        (timedelta(minutes=6), False),
    ],
)
def test_the_sweep_is_stale_once_its_last_success_is_older_than_five_minutes(last_run, ok):
    with at(NOON - last_run):
        tasks.sweep()
    with at(NOON):
        health = sweep_health()
    assert (health.ok, health.last_success_at, health.age) == (ok, NOON - last_run, last_run)


def test_a_sweep_that_never_ran_is_stale():
    assert sweep_health() == JobHealth(ok=False, last_success_at=None, age=None)


def test_the_threshold_is_a_setting(settings):
    settings.SWEEP_STALE_AFTER = 60
    with at(NOON - timedelta(minutes=2)):
        tasks.sweep()
    with at(NOON):
        assert not sweep_health().ok
