"""Twenty people press *Resolve* on one incident at the same moment, through the API under gunicorn (two
worker processes of four threads each, as `make prod` serves it): one 200, nineteen 409 saying the state
has moved on, and one resolution on the record (history and timeline), never a 500."""

import threading

import pytest
from rest_framework.authtoken.models import Token

from incidents import services as incident_services
from incidents.choices import EventKind, Role, State
from tests.factories import INVESTIGATION, incident_in, make_user

from .servers import Gunicorn, call, production_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RESOLVERS = 20
RESOLUTION = {"resolution_code": "fixed", "resolution_notes": "Replaced the failed disk", **INVESTIGATION}


def test_twenty_concurrent_resolves_resolve_once(shared_postgres, processes, report):
    manager = make_user(Role.INCIDENT_MANAGERS, username="faults-racing-manager")
    incident = incident_in(State.INVESTIGATING, manager=manager)
    for step in incident.checklist.filter(required=True):
        incident_services.checklist_item_done(item=step, user=manager)
    tokens = [Token.objects.create(user=manager).key]
    tokens += [
        Token.objects.create(user=make_user(Role.SYSADMINS, username=f"faults-resolver-{i}")).key
        for i in range(RESOLVERS - 1)
    ]
    web = Gunicorn(production_env(broker_url="memory://"), log_name="faults-concurrent-resolves-gunicorn.log")
    processes.append(web.start())

    url = f"{web.url}/api/v1/incidents/{incident.number}/resolve/"
    answers = [None] * RESOLVERS
    barrier = threading.Barrier(RESOLVERS)

    def resolve(i: int) -> None:
        barrier.wait()
        answers[i] = call("POST", url, token=tokens[i], body=RESOLUTION)

    threads = [threading.Thread(target=resolve, args=(i,)) for i in range(RESOLVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    statuses = sorted(answer.status for answer in answers)
    incident.refresh_from_db()
    history = incident.history.filter(state=State.RESOLVED).count()
    timeline = incident.timeline.filter(kind=EventKind.TRANSITION, to_state=State.RESOLVED).count()
    report(
        f"concurrent-resolves: requests={RESOLVERS} 200={statuses.count(200)} 409={statuses.count(409)} "
        f"other={RESOLVERS - statuses.count(200) - statuses.count(409)} history-rows={history} "
        f"timeline-events={timeline} state={incident.state}"
    )
    assert statuses == [200] + [409] * (RESOLVERS - 1), [
        a.body for a in answers if a.status not in (200, 409)
    ]
    refusals = [answer.body for answer in answers if answer.status == 409]
    assert {body["code"] for body in refusals} == {"transition_not_allowed"}
    assert {body["state"] for body in refusals} == {State.RESOLVED}
    assert incident.state == State.RESOLVED
    assert history == 1
    assert timeline == 1
