"""Redis (the broker and the cache) hangs: it still accepts connections but answers nothing (SIGSTOP, as a
Redis swapped out or a firewall dropping its replies would). Under gunicorn, incidents are logged and
classified through the API meanwhile: every request answers, none with a 5xx, within the socket timeouts
(a second for the cache; two seconds a try for the broker, once per process, then its queuing pauses and the
sweep takes over), not gunicorn's 60 s; and no incident is lost."""

import os
import signal
import threading
from datetime import timedelta

import pytest

from escalation.models import Notification
from incidents.models import Incident, SlaPolicy
from tests.factories import ServiceFactory

from .servers import Gunicorn, call, production_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

INCIDENTS = 12
# Seconds. The first request of each gunicorn process to queue work waits out the throttle's cache read (1 s)
# and two publishing attempts of 2 s each; the ones after it only the cache read.
FIRST_BOUND = 10.0
USUAL_BOUND = 3.0


@pytest.fixture
def hung(redis_server):
    """Stops the test's Redis process (SIGSTOP) until the test ends: connections still open, no answers."""

    def hang() -> None:
        os.kill(redis_server.process.pid, signal.SIGSTOP)

    yield hang
    os.kill(redis_server.process.pid, signal.SIGCONT)


def test_a_redis_that_never_answers_costs_requests_seconds_not_a_5xx(
    redis_server, hung, processes, report, desk_token, escalation_audience
):
    # The first escalation falls due within the queue horizon, so logging one queues its task at once.
    SlaPolicy.objects.filter(severity="S4").update(
        response_target=timedelta(minutes=5), resolution_target=timedelta(minutes=20)
    )
    service = ServiceFactory(stakeholder_emails="obs@lab.example")
    env = production_env(broker_url=redis_server.url, CACHE_URL=redis_server.url.rsplit("/", 1)[0] + "/1")
    web = Gunicorn(env, workers=2, threads=4, log_name="faults-redis-unresponsive-gunicorn.log")
    processes.append(web.start())

    def log_and_classify(title: str):
        body = {"title": title, "service": service.slug, "category": "observatory"}
        return call(
            "POST",
            f"{web.url}/api/v1/incidents/",
            token=desk_token,
            body={**body, "urgency": "low", "impact": "low"},
            timeout=30,
        )

    warm = log_and_classify("SDR-0 warming up")  # connections to Redis open and pooled, as in production
    assert warm.status == 201, warm.body

    hung()
    answers = {}

    def log(i: int) -> None:
        answers[f"SDR-{i} dropping samples"] = log_and_classify(f"SDR-{i} dropping samples")

    # Four at a time: some requests of each process wait while another finds the broker silent.
    for start in range(1, INCIDENTS + 1, 4):
        batch = [threading.Thread(target=log, args=(i,)) for i in range(start, min(start + 4, INCIDENTS + 1))]
        for thread in batch:
            thread.start()
        for thread in batch:
            thread.join(timeout=60)
    listed = call("GET", f"{web.url}/api/v1/incidents/", token=desk_token, timeout=30)

    seconds = sorted(answer.seconds for answer in answers.values())
    failed = [answer for answer in answers.values() if answer.server_error]
    logged = Incident.objects.filter(title__in=answers)
    report(
        f"redis-unresponsive: logged={logged.count()}/{INCIDENTS} 5xx={len(failed)} "
        f"seconds: fastest={seconds[0]:.2f} median={seconds[len(seconds) // 2]:.2f} slowest={seconds[-1]:.2f} "
        f"list={listed.status} in {listed.seconds:.2f}s"
    )
    assert not failed, [(answer.status, answer.body) for answer in failed[:3]]
    assert [answer.status for answer in answers.values()] == [201] * INCIDENTS
    assert logged.count() == INCIDENTS
    assert not logged.exclude(state="classified").exists()
    assert seconds[-1] < FIRST_BOUND, f"a request waited {seconds[-1]:.1f} s on the silent Redis"
    assert seconds[len(seconds) // 2] < USUAL_BOUND, "after one failure a process stops waiting on the broker"
    assert listed.status == 200 and listed.seconds < USUAL_BOUND
    assert Notification.objects.filter(incident__in=logged).exists(), "there was something to queue"
