#!/usr/bin/env python
"""The benchmark suite of issue 12 (`make bench`): prepares a PostgreSQL database of N generated incidents,
times the requests and jobs that must stay fast at scale, prints one table row per measurement (median of
--repeat runs, and the number of SQL queries) and writes the results as JSON.

    make bench                                   # 1M incidents in BENCH_DATABASE_URL (itsm_bench)
    make bench BENCH_ARGS="--n 100000"
    .venv/bin/python bench/run.py --sizes 10000,1000000    # two databases, and the growth ratio

Per-request timings run in-process through Django's test Client (no web server, no network), with
production-like settings (DEBUG off); they measure the view, its queries and the rendering. API create runs
under gunicorn (deploy/gunicorn.conf.py, BENCH_WEB_WORKERS workers, default 3) with 8 concurrent clients and
reports creates/s. Alert intake posts BENCH_ALERTS (default 10,000) alerts as Alertmanager notifications of
BENCH_ALERT_BATCH (default 100) under gunicorn from 4 clients: one alert repeated, distinct alerts of one
group, distinct alerts of 100 groups; it reports alerts/s and the queries of one notification.
Transitions and the sweep run in a transaction rolled back after each run; the incidents API create and
alert intake made are deleted. Each database is created when missing, migrated,
and filled by bench/generate.py up to its size. With --sizes, each size gets a database of its own
(BENCH_DATABASE_URL's name + "_<size>").

A measurement is one function registered with `@measurement(name, description)`: it returns a callable
that performs one run (its queries are counted); add one to extend the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/itsm_bench"
RESULTS = BASE_DIR / "var" / "bench" / "results.json"
PYTHON = sys.executable

# Production-like settings for the in-process runs: DEBUG off (no query log, compressed static manifest not
# needed by the views measured), the required values given, nothing sent anywhere.
BENCH_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-not-secret-" + "x" * 40,
    "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "DEFAULT_FROM_EMAIL": "itsm-bench@lab.example",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "CELERY_BROKER_URL": "memory://",
    "CELERY_TASK_ALWAYS_EAGER": "false",
    "EMAIL_URL": "dummymail://",
    "LOG_LEVEL": "ERROR",
    "API_RATE_USER": "1000000/min",  # the benchmark's clients are one user
    "API_RATE_ALERT_SOURCE": "1000000/min",
    "STATIC_ROOT": str(BASE_DIR / "var" / "bench" / "static"),  # collected for the hashed names
}


# --- orchestration (no Django here: each database is measured in a process of its own) --------------------


def with_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            print(f"creating database {name}", file=sys.stderr)
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(url: str, n: int, env: dict, *, generate: bool) -> None:
    ensure_database(url)
    child = {**os.environ, **env, "DATABASE_URL": url}
    manage = [PYTHON, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "--verbosity", "0"], env=child, check=True)
    if generate:
        subprocess.run(
            [PYTHON, str(BASE_DIR / "bench" / "generate.py"), "--n", str(n)], env=child, check=True
        )


def measure_in_child(url: str, args) -> dict:
    child = {**os.environ, **BENCH_ENV, "DATABASE_URL": url}
    manage = [PYTHON, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "collectstatic", "--noinput", "--verbosity", "0"], env=child, check=True)
    output = RESULTS.with_name(f"measure-{os.getpid()}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [PYTHON, __file__, "--measure", str(output), "--repeat", str(args.repeat)]
    if args.only:
        command += ["--only", args.only]
    subprocess.run(command, env=child, check=True)
    result = json.loads(output.read_text())
    output.unlink()
    return result


# Selectors timed next to a hand-written SQL statement computing the same numbers: (label, selector's
# measurement, the SQL's measurement); the summary prints the ratio (issue 12: report <= 1.5x the SQL).
VERSUS_SQL = (
    ("service-impact report", "service-impact report", "service-impact, hand-written SQL"),
    ("KPIs", "KPIs, one month", "KPIs, hand-written SQL"),
)


def print_table(results: dict[str, dict]) -> None:
    sizes = list(results)
    names = list(dict.fromkeys(name for result in results.values() for name in result["measurements"]))
    head = f"{'measurement':<34}" + "".join(f"{f'{int(s):,} ms':>14}{'queries':>9}" for s in sizes)
    if len(sizes) == 2:
        head += f"{'growth':>9}"
    print(head)
    print("-" * len(head))
    for name in names:
        line = f"{name:<34}"
        values = []
        for size in sizes:
            row = results[size]["measurements"].get(name, {})
            value = row.get("median_ms")
            values.append(value)
            shown = "—" if value is None else f"{value:,.1f}"
            line += f"{shown:>14}{row.get('queries', '—')!s:>9}"
        if len(sizes) == 2 and None not in values and values[0]:
            line += f"{values[1] / values[0]:>8.2f}x"
        print(line)
    for size in sizes:
        for name, row in results[size]["measurements"].items():
            if row.get("extra"):
                print(f"  [{int(size):,}] {name}: {row['extra']}")
    for size in sizes:
        rows = results[size]["measurements"]
        for label, selector, baseline in VERSUS_SQL:
            report = rows.get(selector, {}).get("median_ms")
            sql = rows.get(baseline, {}).get("median_ms")
            if report and sql:
                print(f"  [{int(size):,}] {label} / hand-written SQL: {report / sql:.2f}x (target <= 1.5x)")
    print("\nPer-request timings: in-process Django test Client (no web server), median of the runs.")


def orchestrate(args) -> None:
    base = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.n]
    base_name = urlsplit(base).path.lstrip("/")
    results = {}
    for size in sizes:
        url = base if not args.sizes else with_name(base, f"{base_name}_{size}")
        prepare(url, size, {"DEBUG": "true", "CELERY_BROKER_URL": "memory://"}, generate=not args.no_generate)
        print(f"measuring {urlsplit(url).path.lstrip('/')} ({size:,} incidents) ...", file=sys.stderr)
        results[str(size)] = measure_in_child(url, args)
    print_table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {RESULTS.relative_to(BASE_DIR)}")


# --- measurements (run in the child process, Django set up) -----------------------------------------------

MEASUREMENTS: list[tuple[str, str, Callable]] = []


def measurement(name: str, description: str):
    def register(function):
        MEASUREMENTS.append((name, description, function))
        return function

    return register


class Context:
    def __init__(self):
        from django.test import Client

        from incidents.models import Incident
        from incidents.tokens import api_token_issue

        User = __import__("django.contrib.auth", fromlist=["get_user_model"]).get_user_model()
        self.manager = User.objects.get(username="manager")
        self.admin_client = Client()
        self.admin_client.force_login(self.manager)
        token = api_token_issue(user=self.manager)
        self.api_client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
        # An incident with a full timeline: the most recent closed one.
        self.closed = Incident.objects.filter(state="closed").order_by("-created_at").only("number").first()
        self.open = Incident.objects.filter(state="investigating").only("number").first()


def get(client, path: str, status: int = 200):
    def run():
        response = client.get(path)
        if response.status_code != status:
            raise RuntimeError(f"GET {path}: {response.status_code}")
        return response

    return run


@measurement("admin changelist", "admin incident list, default (open incidents), incident manager")
def admin_changelist(ctx):
    return get(ctx.admin_client, "/admin/incidents/incident/")


@measurement("admin changelist state+severity", "admin list, state investigating,on_hold and S2")
def admin_changelist_filtered(ctx):
    return get(ctx.admin_client, "/admin/incidents/incident/?state=investigating,on_hold&severity__exact=S2")


@measurement("admin changelist search", "admin list, search 'unreachable' in every state")
def admin_changelist_search(ctx):
    return get(ctx.admin_client, "/admin/incidents/incident/?state=all&q=unreachable")


@measurement("admin home (queue counts)", "admin start page with the work queues")
def admin_home(ctx):
    return get(ctx.admin_client, "/admin/")


@measurement("queue counts selector", "incidents.selectors.work_queues alone")
def queue_counts(ctx):
    from django.utils import timezone

    from incidents import selectors

    return lambda: selectors.work_queues(user=ctx.manager, now=timezone.now())


@measurement("API list, page of 50", "GET /api/v1/incidents/ (default ordering)")
def api_list(ctx):
    return get(ctx.api_client, "/api/v1/incidents/")


@measurement("API list, filtered", "GET /api/v1/incidents/?state=investigating&severity=S2")
def api_list_filtered(ctx):
    return get(ctx.api_client, "/api/v1/incidents/?state=investigating&severity=S2")


@measurement("API list, page 200", "GET /api/v1/incidents/?page=200 (deep page)")
def api_list_deep(ctx):
    from incidents.models import Incident

    page = max(1, min(200, Incident.objects.count() // 50))  # a small database has fewer pages
    return get(ctx.api_client, f"/api/v1/incidents/?page={page}")


@measurement("API detail", "GET /api/v1/incidents/<closed incident>/")
def api_detail(ctx):
    return get(ctx.api_client, f"/api/v1/incidents/{ctx.closed.number}/")


@measurement("API timeline", "GET /api/v1/incidents/<closed incident>/timeline/")
def api_timeline(ctx):
    return get(ctx.api_client, f"/api/v1/incidents/{ctx.closed.number}/timeline/")


class Rollback(Exception):
    """Raised to undo what one timed run wrote, so every run starts from the same database."""


def rolled_back(function):
    from django.db import transaction

    def run():
        try:
            with transaction.atomic():
                function()
                raise Rollback
        except Rollback:
            pass

    return run


def _post(client, path: str, data: dict, status: int = 200):
    response = client.post(path, json.dumps(data), content_type="application/json")
    if response.status_code != status:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.content[:200]!r}")


@measurement("API classify (transition)", "POST .../classify/ on a logged incident, rolled back")
def api_classify(ctx):
    from incidents.models import Incident

    number = Incident.objects.filter(state="logged").order_by("-pk").values_list("number", flat=True).first()
    data = {"category": "infrastructure", "urgency": "medium", "impact": "medium"}
    return rolled_back(lambda: _post(ctx.api_client, f"/api/v1/incidents/{number}/classify/", data))


@measurement(
    "API resolve (transition)", "POST .../resolve/ on an S3/S4 incident being investigated, rolled back"
)
def api_resolve(ctx):
    from incidents.models import Incident

    number = (
        Incident.objects.filter(state="investigating", severity__in=["S3", "S4"])
        .order_by("-pk")
        .values_list("number", flat=True)
        .first()
    )
    data = {"resolution_code": "fixed", "resolution_notes": "Restarted the service."}
    return rolled_back(lambda: _post(ctx.api_client, f"/api/v1/incidents/{number}/resolve/", data))


ALERTS = int(os.environ.get("BENCH_ALERTS", "10000"))
ALERT_BATCH = int(os.environ.get("BENCH_ALERT_BATCH", "100"))  # alerts per Alertmanager notification
ALERT_CLIENTS = 4
ALERT_GROUPS = 100  # the "many groups" run: this many groups (and incidents) share the alerts


@contextmanager
def gunicorn_serving(workers: str):
    """gunicorn (deploy/gunicorn.conf.py, DEBUG off) on a free port of 127.0.0.1, until the block ends."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "WEB_BIND": f"127.0.0.1:{port}", "WEB_WORKERS": workers}
    server = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "itsm.wsgi"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(30)


def _notification(group: str, alerts: list[dict]) -> bytes:
    """An Alertmanager 0.25 webhook notification of `group` holding `alerts`."""
    return json.dumps(
        {
            "version": "4",
            "receiver": "itsm",
            "status": "firing",
            "groupKey": f'{{}}:{{alertname="{group}"}}',
            "truncatedAlerts": 0,
            "groupLabels": {"alertname": group},
            "commonLabels": {"alertname": group, "severity": "warning"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.lab:9093",
            "alerts": alerts,
        }
    ).encode()


def _alert(group: str, i: int) -> dict:
    labels = {"alertname": group, "instance": f"pve-{i:05d}:9100", "job": "node", "severity": "warning"}
    return {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": f"pve-{i:05d} does not answer", "runbook_url": "https://wiki.lab/rb/host"},
        "startsAt": "2026-01-05T09:12:31.482917254Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.lab:9090/graph?g0.expr=up+%3D%3D+0",
        "fingerprint": f"{group[:4].lower()}{i:012x}",
    }


def _alert_intake(ctx, *, kind: str):
    """POST ALERTS alerts to the Alertmanager endpoint under gunicorn (BENCH_WEB_WORKERS workers, default 3)
    from ALERT_CLIENTS concurrent clients, in notifications of ALERT_BATCH alerts, with an alert source's
    token. `kind`: "identical" (every notification repeats one alert ALERT_BATCH times: one incident, the
    rest counted), "distinct" (ALERTS different alerts of ONE group: one incident they all join) or
    "groups" (ALERTS different alerts in ALERT_GROUPS groups: one incident per group). The incidents made
    are deleted after. The queries of one notification are counted in-process (untimed)."""
    import http.client
    import threading

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from incidents.alerts import alert_source_issue_token
    from incidents.models import AlertPayload, AlertSource, Incident, NumberSequence, Service

    source, _ = AlertSource.objects.get_or_create(
        slug="bench-alertmanager",
        defaults={
            "name": "Benchmark Alertmanager",
            "default_service": Service.objects.get(slug="pve-cluster"),
        },
    )
    admin = type(ctx.manager).objects.filter(is_superuser=True).first()
    token = alert_source_issue_token(source=source, user=admin)
    per_group = ALERTS // ALERT_GROUPS

    def notifications() -> list[bytes]:
        if kind == "identical":
            return [_notification("HostDown", [_alert("HostDown", 7)] * ALERT_BATCH)] * (
                ALERTS // ALERT_BATCH
            )
        bodies = []
        for start in range(0, ALERTS, ALERT_BATCH):
            group = "HostDown" if kind == "distinct" else f"HostDown{start // per_group:03d}"
            bodies.append(_notification(group, [_alert(group, i) for i in range(start, start + ALERT_BATCH)]))
        return bodies

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Host": "127.0.0.1"}

    def one_delivery_queries() -> int:
        """One more notification of the same kind, in-process, after the run: what a delivery costs."""
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        group = "HostDown" if kind != "groups" else "HostDownExtra"
        alerts = (
            [_alert(group, 7)] * ALERT_BATCH
            if kind == "identical"
            else [_alert(group, i) for i in range(ALERTS, ALERTS + ALERT_BATCH)]
        )
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/api/v1/alerts/alertmanager/", _notification(group, alerts), content_type="application/json"
            )
        if response.status_code != 200:
            raise RuntimeError(f"in-process delivery: {response.status_code} {response.content[:200]!r}")
        return len(captured)

    def run():
        before = Incident.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        payloads = AlertPayload.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        sequence = NumberSequence.objects.get(name="incident").last_value
        bodies = iter(notifications())
        failures, lock = [], threading.Lock()
        try:
            with gunicorn_serving(os.environ.get("BENCH_WEB_WORKERS", "3")) as port:

                def client():
                    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    while True:
                        with lock:
                            body = next(bodies, None)
                        if body is None:
                            break
                        connection_.request(
                            "POST", "/api/v1/alerts/alertmanager/", body=body, headers=headers
                        )
                        response = connection_.getresponse()
                        content = response.read()
                        if response.status != 200:
                            with lock:
                                failures.append((response.status, content[:200]))
                    connection_.close()

                threads = [threading.Thread(target=client) for _ in range(ALERT_CLIENTS)]
                started = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                elapsed = time.perf_counter() - started
            run.incidents = Incident.objects.filter(pk__gt=before).count()
            run.queries_per_delivery = one_delivery_queries()
        finally:
            Incident.objects.filter(pk__gt=before).delete()
            AlertPayload.objects.filter(pk__gt=payloads).delete()
            NumberSequence.objects.filter(name="incident").update(last_value=sequence)
        run.rate = ALERTS / elapsed
        run.latency_ms = elapsed * 1000
        run.failures = failures

    run.alerts = ALERTS
    run.target = 2000 if kind == "identical" else 500
    return run


@measurement(
    "alert intake, identical",
    f"{ALERTS:,} reports of one alert, {ALERT_BATCH} per notification (one incident), gunicorn",
)
def alert_intake_identical(ctx):
    return _alert_intake(ctx, kind="identical")


@measurement(
    "alert intake, distinct, one group",
    f"{ALERTS:,} distinct alerts of one Alertmanager group, {ALERT_BATCH} per notification "
    "(one incident they all join), gunicorn",
)
def alert_intake_distinct(ctx):
    return _alert_intake(ctx, kind="distinct")


@measurement(
    "alert intake, distinct, 100 groups",
    f"{ALERTS:,} distinct alerts in {ALERT_GROUPS} groups, {ALERT_BATCH} per notification "
    f"({ALERT_GROUPS} incidents), gunicorn",
)
def alert_intake_groups(ctx):
    return _alert_intake(ctx, kind="groups")


SWEEP_DUE = 50


@measurement("escalation sweep (50 due)", f"escalation sweep with {SWEEP_DUE} escalations due, rolled back")
def escalation_sweep(ctx):
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from escalation import services
    from escalation.models import IncidentEscalation

    def run():
        now = timezone.now()
        try:
            with transaction.atomic():
                ids = list(
                    IncidentEscalation.objects.filter(next_step__isnull=False)
                    .order_by("incident_id")
                    .values_list("incident_id", flat=True)[:SWEEP_DUE]
                )
                IncidentEscalation.objects.filter(incident_id__in=ids).update(
                    next_escalation_at=now - timedelta(minutes=1)
                )
                run.fired = services.sweep(now=now)
                raise Rollback
        except Rollback:
            pass

    return run


CREATE_CLIENTS = 8
CREATE_REQUESTS = 400


@measurement(
    "API create (gunicorn, 8 clients)",
    f"POST /api/v1/incidents/ (log and classify) from {CREATE_CLIENTS} concurrent clients, gunicorn",
)
def api_create_throughput(ctx):
    """Under gunicorn (deploy/gunicorn.conf.py, DEBUG off): logging with classification writes the history,
    the timeline, the SLA clocks and the escalation schedule. The incidents it creates are deleted after."""
    import http.client
    import socket
    import threading

    from incidents.models import Incident, NumberSequence
    from incidents.tokens import api_token_issue

    desk = type(ctx.manager).objects.get(username="desk")
    token = api_token_issue(user=desk).key
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": os.environ.get("BENCH_WEB_WORKERS", "3"),
    }
    body = json.dumps(
        {
            "title": "Benchmark: pve-07 unreachable",
            "service": "pve-cluster",
            "category": "infrastructure",
            "urgency": "medium",
            "impact": "medium",
        }
    )
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Host": "127.0.0.1"}

    def run():
        before = Incident.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        sequence = NumberSequence.objects.get(name="incident").last_value
        server = subprocess.Popen(
            [str(Path(PYTHON).parent / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "itsm.wsgi"],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        latencies, failures, lock = [], [], threading.Lock()
        remaining = iter(range(CREATE_REQUESTS))
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("gunicorn did not start") from None
                    time.sleep(0.2)

            def client():
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                while True:
                    with lock:
                        if next(remaining, None) is None:
                            break
                    started = time.perf_counter()
                    connection.request("POST", "/api/v1/incidents/", body=body, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    with lock:
                        latencies.append((time.perf_counter() - started) * 1000)
                        if response.status != 201:
                            failures.append(response.status)
                connection.close()

            # one warm-up request per worker's first touch is part of the run; the count is large enough
            threads = [threading.Thread(target=client) for _ in range(CREATE_CLIENTS)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(30)
            Incident.objects.filter(pk__gt=before).delete()
            NumberSequence.objects.filter(name="incident").update(last_value=sequence)
        run.latency_ms = statistics.median(latencies)
        run.rate = (len(latencies) - len(failures)) / elapsed
        run.failures = failures

    run.throughput = True
    return run


def _reports_vs_sql():
    import importlib.util

    spec = importlib.util.spec_from_file_location("reports_vs_sql", BASE_DIR / "bench" / "reports_vs_sql.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _last_month():
    from django.utils import timezone

    from reporting.periods import parse_month

    today = timezone.localdate()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return parse_month(f"{year}-{month:02d}")


@measurement("service-impact report", "monthly service-impact report of last month (selector)")
def service_impact_report(ctx):
    from django.utils import timezone

    from reporting import selectors

    month, now = _last_month(), timezone.now()
    comparison = _reports_vs_sql()
    report = selectors.service_impact(month=month, now=now)
    differences = len(comparison.compare(report, comparison.hand_written(month, now)))  # once, untimed

    def run():
        selectors.service_impact(month=month, now=now)

    run.compare = differences
    return run


@measurement("service-impact, hand-written SQL", "the same numbers in one hand-written SQL statement")
def service_impact_sql(ctx):
    from django.utils import timezone

    month, now = _last_month(), timezone.now()
    comparison = _reports_vs_sql()
    return lambda: comparison.hand_written(month, now)


def _kpis_vs_sql():
    import importlib.util

    spec = importlib.util.spec_from_file_location("kpis_vs_sql", BASE_DIR / "bench" / "kpis_vs_sql.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _last_month_days():
    from datetime import timedelta

    month = _last_month()
    return month.first_day, month.last_day + timedelta(days=1)  # kpis() takes [start, end) as dates


@measurement("KPIs, one month", "KPIs of last month, per severity and category (selector)")
def kpis_one_month(ctx):
    from django.utils import timezone

    from reporting import selectors

    (start, end), now = _last_month_days(), timezone.now()
    comparison = _kpis_vs_sql()
    report = selectors.kpis(start=start, end=end, now=now)
    differences = comparison.compare(
        report, comparison.hand_written(start=start, end=end, now=now)
    )  # untimed
    for difference in differences[:10]:
        print(f"KPIs differ: {difference}", file=sys.stderr)

    def run():
        selectors.kpis(start=start, end=end, now=now)

    run.compare = len(differences)
    return run


@measurement("KPIs, hand-written SQL", "the same KPIs in one hand-written SQL statement (GROUPING SETS)")
def kpis_sql(ctx):
    from django.utils import timezone

    (start, end), now = _last_month_days(), timezone.now()
    comparison = _kpis_vs_sql()
    return lambda: comparison.hand_written(start=start, end=end, now=now)


def counting(counter: list[int]):
    """A database execute wrapper counting the statements (Django's query log keeps only 9,000)."""

    def wrapper(execute, sql, params, many, context):
        counter[0] += 1
        return execute(sql, params, many, context)

    return wrapper


def run_measurements(repeat: int, only: str | None) -> dict:
    from django.db import connection

    from incidents.models import Incident

    ctx = Context()
    out = {"incidents": Incident.objects.count(), "measurements": {}}
    for name, description, factory in MEASUREMENTS:
        if only and only not in name:
            continue
        run = factory(ctx)
        try:
            once = hasattr(run, "throughput") or hasattr(run, "alerts")  # one run is already many requests
            if not once:
                run()  # warm-up: imports, template loading, connection
            timings = []
            for _ in range(1 if once else repeat):
                queries = [0]
                with connection.execute_wrapper(counting(queries)):
                    started = time.perf_counter()
                    run()
                    timings.append((time.perf_counter() - started) * 1000)
            row = {
                "description": description,
                "median_ms": round(statistics.median(timings), 1),
                "min_ms": round(min(timings), 1),
                "runs": len(timings),
                "queries": queries[0],
            }
            if hasattr(run, "fired"):  # every step past its time fires, so the count varies a little
                per = row["median_ms"] / run.fired if run.fired else 0
                row["extra"] = f"fired {run.fired} escalations, {per:.1f} ms each"
        except Exception as error:  # one failing measurement should not hide the others
            row = {"description": description, "error": f"{type(error).__name__}: {error}"}
            print(f"{name}: {row['error']}", file=sys.stderr)
        if "error" not in row:
            if hasattr(run, "throughput"):  # one run is many requests: the rate, and the median latency
                row["median_ms"] = round(run.latency_ms, 1)
                row["queries"] = "—"
                row["extra"] = (
                    f"{run.rate:,.0f} creates/s (target >= 150), median latency {run.latency_ms:.0f} ms"
                )
                if run.failures:
                    row["extra"] += f", {len(run.failures)} failed ({sorted(set(run.failures))})"
            if hasattr(run, "alerts"):  # one run is many notifications under gunicorn: the rate
                row["median_ms"] = round(run.latency_ms, 1)
                row["queries"] = run.queries_per_delivery
                row["extra"] = (
                    f"{run.rate:,.0f} alerts/s (target >= {run.target:,}), {run.incidents} incidents, "
                    f"{run.queries_per_delivery} queries per notification of {ALERT_BATCH} alerts"
                )
                if run.failures:
                    row["extra"] += f", {len(run.failures)} failed ({run.failures[0]})"
            if hasattr(run, "compare"):
                row["extra"] = (
                    "numbers agree with the SQL" if not run.compare else f"{run.compare} numbers differ"
                )
        out["measurements"][name] = row
        print(f"  {name}: {row.get('median_ms', 'error')} ms", file=sys.stderr)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="incidents in the database (default 1M)")
    parser.add_argument("--sizes", help="comma-separated sizes, one database each, e.g. 10000,1000000")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per measurement (default 7)")
    parser.add_argument("--only", help="run only the measurements whose name contains this")
    parser.add_argument("--no-generate", action="store_true", help="migrate, but add no incidents")
    parser.add_argument("--measure", metavar="JSON", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.measure:
        sys.path.insert(0, str(BASE_DIR))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itsm.settings")
        import django

        django.setup()
        Path(args.measure).write_text(json.dumps(run_measurements(args.repeat, args.only)))
        return
    orchestrate(args)


if __name__ == "__main__":
    main()
