"""Fixtures of the fault tests: PostgreSQL (shared with the processes they start), a Redis of their own on a
free port (never the machine's), the processes' clean-up, and the counts each scenario prints."""

import os

import pytest
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from rest_framework.authtoken.models import Token

from incidents.choices import Role
from tests.escalation.worker import RedisServer, point_publisher, require_redis_server, reset_publisher
from tests.factories import make_user

FAULT_DURATIONS = {
    # `make faults` runs each fault at full length; the suite (CI) runs the same tests shorter.
    "FAULTS_REDIS_OUTAGE_SECONDS": 12,
    "FAULTS_LOAD_SECONDS": 8,
}


def duration(name: str) -> float:
    return float(os.environ.get(name) or FAULT_DURATIONS[name])


# `make faults` sets FAULTS_REQUIRED=true: there a missing PostgreSQL or redis-server is a failure, not a skip.
REQUIRED = os.environ.get("FAULTS_REQUIRED") == "true"


def _missing(problem: str, *, required: bool):
    if required:
        pytest.fail(problem)
    pytest.skip(problem)


@pytest.fixture
def shared_postgres(transactional_db):
    """The processes the test starts must see its rows: PostgreSQL, committed (a transactional test)."""
    if connection.vendor != "postgresql":
        problem = "needs PostgreSQL shared with the processes it starts (DATABASE_URL=postgres://...)"
        _missing(problem, required=REQUIRED)


@pytest.fixture
def redis_server(shared_postgres):
    """A Redis of the test's own, which it may stop and start; it keeps nothing on disk."""
    # The CI's PostgreSQL pass runs these tests: there (CI=true) a missing Redis fails them.
    require_redis_server(required=REQUIRED)
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def publish_to(monkeypatch):
    """Where this process queues the tasks of what the test creates (on commit): nowhere (memory://) unless
    the test names its own Redis, `publish_to(redis_server.url)`; never the broker the suite may be
    configured with (CI's PostgreSQL pass sets the machine's Redis)."""

    def point(url: str) -> None:
        point_publisher(monkeypatch, url)

    point("memory://")
    yield point
    reset_publisher()


@pytest.fixture
def processes():
    """Started processes (gunicorn, workers, honcho), stopped in reverse order at the end, even on failure."""
    started = []
    yield started
    for process in reversed(started):
        process.stop()


@pytest.fixture
def report(capsys):
    """Print a scenario's counts to the terminal, also when pytest captures output (`make faults`, CI)."""

    def say(text: str) -> None:
        with capsys.disabled():
            print(f"\nfaults: {text}", flush=True)

    return say


@pytest.fixture
def sweep_every_two_seconds(shared_postgres):
    """Beat sends the escalation sweep every 2 s, standing in for the production minute."""
    every, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    assert PeriodicTask.objects.filter(task="escalation.tasks.sweep").update(interval=every) == 1


@pytest.fixture
def desk_token(shared_postgres) -> str:
    """The API token of a Service Desk member, who logs and classifies in one call."""
    desk = make_user(Role.SERVICE_DESK, username="faults-desk", email="desk@lab.example")
    return Token.objects.create(user=desk).key


@pytest.fixture
def escalation_audience(shared_postgres):
    """Someone in each group the escalation levels notify, so that every escalation sends e-mail."""
    for role in (Role.SERVICE_DESK, Role.INCIDENT_MANAGERS, Role.MANAGEMENT):
        make_user(role, username=f"faults-{role.lower().replace(' ', '-')}")
