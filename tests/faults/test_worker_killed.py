"""The Celery worker is killed with `kill -9` while 500 escalations are due, under the process manager of
`make prod` (honcho running the repository's Procfile, each command wrapped in `itsm.respawn`). The wrapper
starts it again, and every escalation fires exactly once: what the dead worker held unacknowledged waits in
Redis for the visibility timeout, so the sweep fires it, and a task or sweep that did get through finds the
step already fired."""

import os
import re
import signal
import time
from datetime import timedelta

import pytest
import time_machine
from django.db.models import Count
from django.utils import timezone

from escalation.models import EscalationEvent, Notification
from escalation.services.delivery import CLAIM_LEASE
from incidents import services as incident_services
from incidents.choices import Role
from incidents.models import SlaPolicy
from tests.escalation.worker import ROOT, wait_for
from tests.factories import ServiceFactory, make_user

from .servers import BIN, Process, child_pids, command_line, production_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

INCIDENTS = 125
STEPS = 4  # S4: response 100%, resolution 50%, 75%, 100%
DUE = INCIDENTS * STEPS
START = ["start", "worker", "beat"]  # the Procfile's worker and beat, not its web server


def log_overdue_incidents(manager) -> list[int]:
    """125 S4 incidents logged ten minutes ago against targets of 1 and 4 minutes: all 4 steps of each due."""
    SlaPolicy.objects.filter(severity="S4").update(
        response_target=timedelta(minutes=1), resolution_target=timedelta(minutes=4)
    )
    service = ServiceFactory(stakeholder_emails="obs@lab.example")
    with time_machine.travel(timezone.now() - timedelta(minutes=10)):
        return [
            incident_services.incident_log(
                user=manager,
                title=f"SDR-{i} dropping samples",
                service=service,
                classification={"category": "observatory", "urgency": "low", "impact": "low"},
            ).pk
            for i in range(INCIDENTS)
        ]


def celery_worker_pid(honcho_pid: int) -> int | None:
    """The worker's main process: the `celery ... worker` that `itsm.respawn` started under honcho."""
    pending = [honcho_pid]
    while pending:
        pid = pending.pop()
        children = child_pids(pid)
        line = command_line(pid)
        if "itsm.respawn" in line and "worker" in line:
            for child in children:
                if "worker" in command_line(child):
                    return child
        pending.extend(children)
    return None


def test_a_worker_killed_mid_run_is_restarted_and_every_escalation_fires_once(
    redis_server, publish_to, processes, report, escalation_audience, sweep_every_two_seconds
):
    manager = make_user(Role.INCIDENT_MANAGERS, username="faults-logging-manager")
    publish_to(redis_server.url)  # each incident's escalation task waits in Redis for the worker
    incident_ids = log_overdue_incidents(manager)
    escalations = EscalationEvent.objects.filter(incident_id__in=incident_ids)
    assert escalations.count() == 0

    env = production_env(broker_url=redis_server.url, LOG_LEVEL="INFO")
    honcho = Process(
        # No env file: a developer's .env (read by honcho, winning over `env`) must not redirect the test.
        [str(BIN / "honcho"), "--no-colour", "--env", os.devnull, "-f", str(ROOT / "Procfile"), *START],
        env=env,
        log_name="faults-worker-killed-honcho.log",
    )
    processes.append(honcho.start())
    log = f"see {honcho.log_path}"
    assert wait_for(lambda: escalations.count() > 0, timeout=60), f"nothing fired ({log})"
    assert wait_for(lambda: escalations.count() >= DUE // 5, timeout=60, interval=0.02), log
    first = celery_worker_pid(honcho.process.pid)
    assert first, f"no celery worker under honcho and itsm.respawn ({log})"
    signal_sent = time.monotonic()
    fired_before_kill = escalations.count()
    os.kill(first, signal.SIGKILL)

    def restarted() -> int | None:
        pid = celery_worker_pid(honcho.process.pid)
        return pid if pid and pid != first else None

    assert wait_for(restarted, timeout=30), f"the worker was not started again ({log})"
    restarted_after = time.monotonic() - signal_sent
    second = restarted()
    outbox = Notification.objects.filter(incident_id__in=incident_ids)
    # A notification the dead worker had claimed is sent again once its claim lapses (CLAIM_LEASE, 2 min).
    done = wait_for(
        lambda: escalations.count() >= DUE and not outbox.filter(status="pending").exists(),
        timeout=CLAIM_LEASE.total_seconds() + 60,
    )
    settled_after = time.monotonic() - signal_sent
    time.sleep(3)  # would a duplicate turn up late?

    per_step = escalations.values("incident", "key").annotate(n=Count("pk")).filter(n__gt=1)
    sent_twice = (
        outbox.values("incident", "template", "recipient", "subject").annotate(n=Count("pk")).filter(n__gt=1)
    )
    respawned = re.findall(r"respawn: celery was killed by SIGKILL", honcho.log_path.read_text())
    report(
        f"worker-killed: due={DUE} fired-before-kill={fired_before_kill} fired={escalations.count()} "
        f"duplicates={per_step.count()} restarted-in={restarted_after:.1f}s (pid {first} -> {second}) "
        f"notifications={outbox.count()} sent={outbox.filter(status='sent').count()} "
        f"all-sent-in={settled_after:.0f}s "
        f"sent-twice={sent_twice.count()}"
    )
    assert fired_before_kill < DUE, "killed mid-run"
    assert respawned, f"itsm.respawn did not report the kill ({log})"
    assert done, f"not everything fired and went out after the restart ({log})"
    assert escalations.count() == DUE
    assert not per_step.exists()
    assert outbox.filter(template="escalation").exists()
    assert outbox.count() == outbox.filter(status="sent").count()
    assert not sent_twice.exists(), list(sent_twice[:3])
    assert honcho.alive, f"honcho stopped ({log})"
