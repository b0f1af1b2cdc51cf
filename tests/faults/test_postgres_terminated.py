"""PostgreSQL's connections are terminated (`pg_terminate_backend`, as a restart or a failover does) again
and again while API requests run under gunicorn, for FAULTS_LOAD_SECONDS (30 in `make faults`). A request
that loses its connection answers 503 with a JSON body and Retry-After, never 500, and leaves nothing
half-written: an incident exists complete (logged, classified, its timeline, history and escalation
record) or not at all, and not when its request answered 503. Once the terminations stop, every request
succeeds: gunicorn's kept connections (CONN_MAX_AGE) are checked before reuse and replaced."""

import itertools
import threading
import time

import psycopg
import pytest
from django.db import connection

from escalation.models import IncidentEscalation
from incidents.choices import EventKind
from incidents.models import Incident
from tests.factories import ServiceFactory

from .conftest import duration
from .servers import Gunicorn, call, production_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 8
TERMINATE_EVERY = 1.0  # seconds


class Terminator(threading.Thread):
    """Terminates every connection to the test database except its own and the test's."""

    def __init__(self):
        super().__init__(daemon=True)
        settings = connection.settings_dict
        self.database = settings["NAME"]
        self.spared = connection.cursor().connection.info.backend_pid  # the test's own connection
        self.conninfo = psycopg.conninfo.make_conninfo(
            dbname=self.database,
            user=settings["USER"],
            password=settings["PASSWORD"] or None,
            host=settings["HOST"] or "127.0.0.1",
            port=settings["PORT"] or 5432,
        )
        self.stopping = threading.Event()
        self.terminated = 0

    def run(self):
        with psycopg.connect(self.conninfo, autocommit=True) as admin:
            while not self.stopping.wait(TERMINATE_EVERY):
                rows = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid NOT IN (pg_backend_pid(), %s)",
                    [self.database, self.spared],
                ).fetchall()
                self.terminated += sum(1 for (done,) in rows if done)

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)


def complete(incident: Incident) -> bool:
    """Logged and classified in one call, with everything that call writes."""
    kinds = set(incident.timeline.values_list("kind", flat=True))
    return (
        incident.state == "classified"
        and incident.severity == "S4"
        and {EventKind.CREATED, EventKind.TRANSITION} <= kinds
        and incident.history.count() >= 2
        and IncidentEscalation.objects.filter(incident=incident).exists()
    )


def test_terminated_database_connections_fail_requests_cleanly_and_the_next_succeed(
    shared_postgres, processes, report, desk_token
):
    load_seconds = duration("FAULTS_LOAD_SECONDS")
    service = ServiceFactory()
    # Connections kept between requests: a terminated one must be noticed and replaced, not failed on.
    env = production_env(broker_url="memory://", CONN_MAX_AGE="60")
    web = Gunicorn(env, log_name="faults-postgres-terminated-gunicorn.log")
    processes.append(web.start())
    numbers = itertools.count()
    answers = []  # (title or None for a read, answer)

    def create() -> tuple[str, object]:
        title = f"pve-{next(numbers)} unreachable"
        body = {"title": title, "service": service.slug, "category": "infrastructure"}
        body.update(urgency="low", impact="low")
        return title, call("POST", f"{web.url}/api/v1/incidents/", token=desk_token, body=body)

    def load(stop: threading.Event) -> None:
        for i in itertools.count():
            if stop.is_set():
                return
            if i % 4 == 3:
                answers.append((None, call("GET", f"{web.url}/api/v1/incidents/", token=desk_token)))
            else:
                answers.append(create())

    def unavailable() -> list:
        return [answer for _, answer in answers if answer.status == 503]

    stop = threading.Event()
    clients = [threading.Thread(target=load, args=(stop,), daemon=True) for _ in range(CLIENTS)]
    terminator = Terminator()
    for thread in [*clients, terminator]:
        thread.start()
    started = time.monotonic()
    # At least the load's duration, and on until a termination has hit a request (up to three times as long).
    while time.monotonic() - started < load_seconds or (
        not unavailable() and time.monotonic() - started < 3 * load_seconds
    ):
        time.sleep(0.2)
    terminator.stop()
    stop.set()
    for thread in clients:
        thread.join(timeout=60)
    during = list(answers)

    after = [create() for _ in range(20)]

    failed = [answer for _, answer in during if answer.status not in (200, 201, 503)]
    refused = [answer for _, answer in during if answer.status == 503]
    unclear = [
        answer
        for answer in refused
        if not isinstance(answer.body, dict)
        or answer.body.get("code") != "database_unavailable"
        or answer.headers.get("Retry-After") != "5"
    ]
    created = {title for title, answer in during if title and answer.status == 201}
    refused_titles = {title for title, answer in during if title and answer.status == 503}
    stored = {incident.title: incident for incident in Incident.objects.filter(service=service)}
    incomplete = [title for title, incident in stored.items() if not complete(incident)]
    saved_though_refused = refused_titles & set(stored)
    report(
        f"postgres-terminated: seconds={time.monotonic() - started:.0f} requests={len(during)} "
        f"terminated-connections={terminator.terminated} 503={len(refused)} other-5xx={len(failed)} "
        f"created={len(created)} stored={len(stored) - len(after)} incomplete={len(incomplete)} "
        f"saved-though-503={len(saved_though_refused)} "
        f"next-requests-ok={sum(answer.status == 201 for _, answer in after)}/{len(after)}"
    )
    assert terminator.terminated > 0
    assert refused, "no request was hit by a termination"
    assert not failed, [(answer.status, answer.body) for answer in failed[:3]]
    assert not unclear, [(answer.body, answer.headers) for answer in unclear[:3]]
    assert created <= set(stored), "an incident answered 201 is missing"
    assert not incomplete, incomplete[:5]
    assert not saved_though_refused, f"answered 503 but saved: {sorted(saved_though_refused)[:5]}"
    assert [answer.status for _, answer in after] == [201] * len(after), [a.body for _, a in after]
