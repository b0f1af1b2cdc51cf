"""What `make prod` starts, end to end (`make prod-start`: all of it but the install): the deployment
check, migrations and collectstatic, then the Procfile under honcho with production settings, on the test
database and a Redis of the test's own. The web server answers with the request id it was given by a
trusted proxy and logs it in a JSON access line; the Celery worker killed with SIGKILL comes back (itsm.respawn);
SIGTERM stops every process."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.escalation.worker import LOG_DIR, ROOT, RedisServer, free_port, wait_for

pytestmark = pytest.mark.postgres
BIN = Path(sys.executable).parent


def production_env(*, broker_url: str, bind: str) -> dict[str, str]:
    db = connection.settings_dict
    env = {key: value for key, value in os.environ.items() if key not in ("EMAIL_LOG_FILE", "CACHE_URL")}
    env.update(
        DEBUG="false",
        SECRET_KEY="make-prod-test-key-" + "k" * 40,
        ALLOWED_HOSTS="127.0.0.1",
        DEFAULT_FROM_EMAIL="itsm@lab.example",
        DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        CELERY_BROKER_URL=broker_url,
        CACHE_URL="locmemcache://",
        EMAIL_URL="dummymail://",
        TRUSTED_PROXIES="127.0.0.1",
        WEB_BIND=bind,
        WEB_WORKERS="1",
        WEB_THREADS="2",
        CELERY_CONCURRENCY="1",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        # Its own request counters: gunicorn empties this folder at start, never a running site's.
        PROMETHEUS_MULTIPROC_DIR=tempfile.mkdtemp(prefix="itsm-metrics-"),
    )
    return env


def log_entries(path: Path) -> list[dict]:
    """The JSON lines honcho printed (after its "12:00:00 web.1 | " prefix)."""
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        _, _, rest = line.partition("| ")
        if rest.startswith("{"):
            entries.append(json.loads(rest))
    return entries


def pids_of(entries: list[dict], message: str) -> list[int]:
    return [entry["pid"] for entry in entries if entry["message"].startswith(message)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# What the env file holds (the rest, PATH and the like, comes from the environment).
PRODUCTION_NAMES = [
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DEFAULT_FROM_EMAIL", "DATABASE_URL", "CELERY_BROKER_URL",
    "CACHE_URL", "EMAIL_URL", "TRUSTED_PROXIES", "WEB_BIND", "WEB_WORKERS", "WEB_THREADS",
    "CELERY_CONCURRENCY", "LOG_FORMAT", "LOG_LEVEL", "PROMETHEUS_MULTIPROC_DIR",
]  # fmt: skip


def test_make_prod_serves_restarts_a_killed_worker_and_stops_together(postgres, tmp_path):
    redis = RedisServer().start()
    port = free_port()
    log_path = LOG_DIR / "test-make-prod.log"
    LOG_DIR.mkdir(exist_ok=True)
    env = production_env(broker_url=redis.url, bind=f"127.0.0.1:{port}")
    # The Makefile's recipe itself (deployment check, migrations, collectstatic, then honcho), reading its
    # settings from an env file as `make prod` reads .env.
    static_root = tmp_path / "static"
    env_file = tmp_path / "itsm.env"
    env_file.write_text(
        "".join(f"{name}={env[name]}\n" for name in PRODUCTION_NAMES) + f"STATIC_ROOT={static_root}\n"
    )
    with open(log_path, "wb") as log:
        honcho = subprocess.Popen(
            ["make", "--no-print-directory", "prod-start", f"ENV_FILE={env_file}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        entries = lambda: log_entries(log_path)  # noqa: E731
        assert wait_for(
            lambda: pids_of(entries(), "celery@") and pids_of(entries(), "Listening at"), timeout=60
        )

        # nginx's id, from a trusted proxy, comes back on the response and in the JSON access line.
        nginx_id = "0f" * 16
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/",
            headers={"X-Request-ID": nginx_id, "X-Forwarded-Proto": "https", "Accept": "application/json"},
        )
        try:
            response = urllib.request.urlopen(request, timeout=10)
        except urllib.error.HTTPError as error:  # 401 without a token: an answer all the same
            response = error
        assert response.headers["X-Request-ID"] == nginx_id
        # collectstatic ran: the admin's stylesheet comes from STATIC_ROOT under its hashed name.
        assert list(static_root.glob("admin/css/base.*.css"))
        login = urllib.request.Request(
            f"http://127.0.0.1:{port}/admin/login/", headers={"X-Forwarded-Proto": "https"}
        )
        page = urllib.request.urlopen(login, timeout=10).read().decode()
        stylesheet = next(part for part in page.split('"') if part.startswith("/static/admin/css/base."))
        static = urllib.request.Request(
            f"http://127.0.0.1:{port}{stylesheet}", headers={"X-Forwarded-Proto": "https"}
        )
        assert urllib.request.urlopen(static, timeout=10).status == 200
        assert wait_for(
            lambda: any(
                entry["logger"] == "gunicorn.access" and entry.get("request_id") == nginx_id
                for entry in entries()
            ),
            timeout=10,
        ), log_path.read_text()

        # The worker killed outright is started again by itsm.respawn; honcho keeps the others running.
        (first_worker,) = pids_of(entries(), "celery@")
        os.kill(first_worker, signal.SIGKILL)
        assert wait_for(lambda: len(pids_of(entries(), "celery@")) == 2, timeout=30), log_path.read_text()
        assert "respawn: celery was killed by SIGKILL" in log_path.read_text()
        second_worker = pids_of(entries(), "celery@")[1]
        assert second_worker != first_worker and honcho.poll() is None

        # SIGTERM to make and honcho (as Ctrl-C reaches both) stops them all: web server, worker and beat.
        started = [*pids_of(entries(), "Listening at"), second_worker, *pids_of(entries(), "beat: Starting")]
        assert len(started) == 3
        os.killpg(honcho.pid, signal.SIGTERM)
        honcho.wait(timeout=20)
        assert wait_for(lambda: not any(alive(pid) for pid in started), timeout=10)
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
        redis.stop()
