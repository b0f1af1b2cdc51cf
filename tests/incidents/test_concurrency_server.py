"""Transitions through a threaded HTTP server on PostgreSQL, many at once: every answer is a success or a
clear refusal (never a 500), and each incident's state agrees with its timeline and audit history.

django-fsm-2's `refresh_from_db` lifted the state field's protection for the whole process while it
reloaded; under a threaded server, concurrent transitions then failed with "Direct state modification is
not allowed" (a 500 for 3-18% of requests)."""

import itertools
import json
import random
import threading
import urllib.error
import urllib.request

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from rest_framework.authtoken.models import Token

from incidents.choices import Role, State
from incidents.models import Incident
from tests.factories import INVESTIGATION, ServiceFactory, incident_in, make_user

pytestmark = pytest.mark.django_db(transaction=True)

INPUTS = {
    "classify": {"category": "infrastructure", "urgency": "medium", "impact": "medium"},
    "investigate": {},
    "hold": {"reason": "awaiting_vendor", "note": "RMA opened"},
    "resume": {"note": "parts arrived"},
    "resolve": {"resolution_code": "fixed", "resolution_notes": "replaced the disk", **INVESTIGATION},
}


class BusyServer(ThreadedWSGIServer):
    # runserver's threaded server, with a listen backlog that takes 50 simultaneous connections.
    request_queue_size = 128


@pytest.fixture
def threaded_server():
    """Django's threaded development server (one thread per request) on a free port of 127.0.0.1."""
    server = BusyServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def post(url: str, token: str, body: dict) -> tuple[int, str]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def test_fifty_concurrent_transitions_over_twenty_incidents_never_fail(
    postgres, reference_data, threaded_server, settings
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    manager = make_user(Role.INCIDENT_MANAGERS, username="racing-manager")
    token = Token.objects.create(user=manager).key
    service = ServiceFactory()
    incidents = [incident_in(State.LOGGED, manager=manager, service=service) for _ in range(10)] + [
        incident_in(State.CLASSIFIED, manager=manager, service=service) for _ in range(10)
    ]
    rng = random.Random(8)
    calls = [(rng.choice(incidents).number, rng.choice(list(INPUTS))) for _ in range(50)]

    answers: list[tuple[int, str]] = [(0, "")] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int, number: str, name: str) -> None:
        barrier.wait()
        url = f"{threaded_server}/api/v1/incidents/{number}/{name}/"
        answers[i] = post(url, token, INPUTS[name])

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    statuses = [status for status, _ in answers]
    assert not [a for a in answers if a[0] not in (200, 409)], answers
    assert statuses.count(200) > 0
    for incident in Incident.objects.filter(pk__in=[i.pk for i in incidents]):
        transitions = list(incident.timeline.filter(kind="transition").order_by("created_at", "pk"))
        # Each recorded transition starts where the previous one ended, and the last ends where the row is.
        for before, after in itertools.pairwise(transitions):
            assert after.from_state == before.to_state, incident.number
        if transitions:
            assert transitions[-1].to_state == incident.state
        assert incident.history.latest("history_date", "history_id").state == incident.state


def test_reloading_incidents_in_many_threads_at_once_never_trips_the_state_protection(
    postgres, reference_data
):
    """The root cause, without a server: django-fsm's reload switched the protection off and on for every
    thread; eight threads reloading their own incidents 200 times each tripped it almost every run."""
    manager = make_user(Role.INCIDENT_MANAGERS, username="reloading-manager")
    service = ServiceFactory()
    pks = [incident_in(State.CLASSIFIED, manager=manager, service=service).pk for _ in range(8)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(pks))

    def reload(pk: int) -> None:
        from django.db import connection

        try:
            incident = Incident.objects.get(pk=pk)
            barrier.wait()
            for _ in range(200):
                incident.refresh_from_db()
                assert incident.state == State.CLASSIFIED
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=reload, args=(pk,)) for pk in pks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
