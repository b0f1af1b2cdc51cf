"""Redis (the broker and the cache) stops for FAULTS_REDIS_OUTAGE_SECONDS (60 in `make faults`) while 50
incidents are logged and classified through the API under gunicorn. Every request answers at once and none
with a 5xx (the throttles let them through uncounted), no incident is lost, and once Redis is back every
escalation that fell due meanwhile fires exactly once and every notification goes out: the web side leaves
what it could not queue to the sweep, and a Redis without persistence comes back empty, so only the
database remembers."""

import threading
import time
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from escalation.choices import Job
from escalation.models import EscalationEvent, Heartbeat, Notification
from incidents.models import Incident, SlaPolicy
from tests.escalation.worker import Worker, wait_for
from tests.factories import ServiceFactory

from .conftest import duration
from .servers import Gunicorn, call, production_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

INCIDENTS = 50
STEPS = 4  # S4: response 100%, resolution 50%, 75%, 100%
# Seconds. Queuing gives up on a refused connection after a few retries of 0.2 s, about 1-2 s a request here
# (up to 4 s on a loaded machine); one that waited out the broker's 5 s connect timeout twice is too slow.
QUICK = 10.0


def test_a_redis_outage_loses_no_incident_escalation_or_notification(
    redis_server, processes, report, desk_token, escalation_audience, sweep_every_two_seconds
):
    outage = duration("FAULTS_REDIS_OUTAGE_SECONDS")
    # Escalations fall due 10 to 20 s after logging: during the outage, and after it for the last ones.
    SlaPolicy.objects.filter(severity="S4").update(
        response_target=timedelta(seconds=10), resolution_target=timedelta(seconds=20)
    )
    service = ServiceFactory(stakeholder_emails="obs@lab.example")
    # The cache on the same Redis (another database), as deploy/.env.example has it: the outage takes the
    # API's throttle counts away too.
    env = production_env(broker_url=redis_server.url, CACHE_URL=redis_server.url.rsplit("/", 1)[0] + "/1")
    worker = Worker(redis_server.url, beat=True, log_name="faults-redis-outage-worker.log")
    worker.env.update(env)
    processes.append(worker.start())
    web = Gunicorn(env, log_name="faults-redis-outage-gunicorn.log")
    processes.append(web.start())
    started = timezone.now()
    assert wait_for(
        lambda: Heartbeat.objects.filter(name=Job.ESCALATION_SWEEP, last_success_at__gt=started).exists(),
        timeout=60,
    ), f"the worker never swept (see {worker.log_path})"

    redis_server.stop()
    stopped_at = time.monotonic()
    answers = {}

    def log(i: int) -> None:
        time.sleep(max(0.0, stopped_at + i * spacing - time.monotonic()))
        title = f"SDR-{i} dropping samples"
        body = {"title": title, "service": service.slug, "category": "observatory"}
        answers[title] = call(
            "POST",
            f"{web.url}/api/v1/incidents/",
            token=desk_token,
            body={**body, "urgency": "low", "impact": "low"},
        )

    spacing = outage * 0.8 / INCIDENTS  # all logged while Redis is away
    loggers = [threading.Thread(target=log, args=(i,)) for i in range(INCIDENTS)]
    for thread in loggers:
        thread.start()
    for thread in loggers:
        thread.join(timeout=outage + 60)
    time.sleep(max(0.0, stopped_at + outage - time.monotonic()))
    assert worker.alive, f"the worker exited without Redis (see {worker.log_path})"
    redis_server.start()
    returned_at = timezone.now()

    logged = Incident.objects.filter(title__in=answers)
    expected = INCIDENTS * STEPS
    escalations = EscalationEvent.objects.filter(incident__in=logged)
    outbox = Notification.objects.filter(incident__in=logged)
    delivered = wait_for(
        lambda: escalations.count() >= expected and not outbox.filter(status="pending").exists(), timeout=120
    )
    time.sleep(2)  # would a duplicate turn up late?

    statuses = [answer.status for answer in answers.values()]
    failed = [answer for answer in answers.values() if answer.server_error]
    slowest = max(answer.seconds for answer in answers.values())
    numbers = {answer.body["number"] for answer in answers.values() if answer.status == 201}
    fired_after_return = escalations.filter(fired_at__gte=returned_at).count()
    duplicates = (
        outbox.values("incident", "template", "recipient", "subject").annotate(n=Count("pk")).filter(n__gt=1)
    )
    report(
        f"redis-outage: outage={outage:g}s logged={statuses.count(201)}/{INCIDENTS} "
        f"lost={INCIDENTS - logged.count()} 5xx={len(failed)} slowest={slowest:.2f}s "
        f"escalations={escalations.count()}/{expected} (fired after Redis returned: {fired_after_return}) "
        f"notifications={outbox.count()} sent={outbox.filter(status='sent').count()} "
        f"pending={outbox.filter(status='pending').count()} duplicates={duplicates.count()}"
    )
    assert not failed, failed[:3]
    assert statuses == [201] * INCIDENTS, statuses
    assert slowest < QUICK, f"a request waited {slowest:.1f} s on the missing broker"
    assert set(logged.values_list("number", flat=True)) == numbers, "an incident answered 201 was lost"
    assert not logged.exclude(state="classified").exclude(severity="S4").exists()
    assert delivered, f"not everything went out after Redis returned (see {worker.log_path})"
    assert escalations.count() == expected, "each step fired exactly once"
    assert fired_after_return > 0, "escalations that fell due during the outage fired after it"
    assert outbox.filter(template="escalation").exists()
    assert outbox.count() == outbox.filter(status="sent").count()
    assert not duplicates.exists(), list(duplicates[:3])
    assert worker.alive
