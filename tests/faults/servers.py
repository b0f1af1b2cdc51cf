"""The production stack for the fault tests, as real processes on the test database: the environment of a
production start, gunicorn with `make prod`'s configuration, any command in a process group of its own
(honcho running the Procfile), an HTTP client that records what each request answered and how long it took,
and process-tree look-ups to find the one to kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from tests.escalation.worker import LOG_DIR, ROOT, free_port, wait_for

BIN = Path(sys.executable).parent


def shared_database_url() -> str:
    """The database pytest-django created, for the processes the test starts."""
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def production_env(*, broker_url: str, **overrides: str) -> dict[str, str]:
    """A production start (DEBUG off, the values it requires) on the test database and the given broker.
    Plain HTTP on 127.0.0.1: no HTTPS redirect or secure-only cookies. Throttling is out of the way (the
    tests send more than one user's rate); the cache stays in each process (never the machine's Redis)."""
    env = {key: value for key, value in os.environ.items() if key not in ("EMAIL_LOG_FILE", "CACHE_URL")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "itsm.settings",
            "DEBUG": "false",
            "SECRET_KEY": "faults-test-key-" + "k" * 48,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEFAULT_FROM_EMAIL": "itsm@lab.example",
            "SITE_URL": "http://127.0.0.1",
            "DATABASE_URL": shared_database_url(),
            "CELERY_BROKER_URL": broker_url,
            "CACHE_URL": "locmemcache://",
            "EMAIL_URL": "dummymail://",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "API_RATE_USER": "100000/min",
            "LOG_LEVEL": "WARNING",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    env.update(overrides)
    return env


class Process:
    """A command in its own process group, its output in var/<log_name>; stopping it stops its children."""

    def __init__(self, args: list[str], *, env: dict[str, str], log_name: str):
        self.args, self.env = args, env
        self.log_path = LOG_DIR / log_name
        self.process: subprocess.Popen | None = None

    def start(self):
        LOG_DIR.mkdir(exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 (kept for the process' life)
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True
        )
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, timeout: float = 20):
        if not self.alive:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


class Gunicorn(Process):
    """gunicorn as `make prod` starts it (deploy/gunicorn.conf.py), on a free port of 127.0.0.1."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, threads: int = 4, log_name: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **env,
            "WEB_BIND": f"127.0.0.1:{self.port}",
            "WEB_WORKERS": str(workers),
            "WEB_THREADS": str(threads),
            # Its own request counters: gunicorn empties this folder at start, never a running site's.
            "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="itsm-metrics-"),
        }
        args = [str(BIN / "gunicorn"), "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), "itsm.wsgi"]
        super().__init__(args, env=env, log_name=log_name)

    def start(self, *, timeout: float = 30):
        super().start()
        if not wait_for(
            lambda: self.alive and call("GET", f"{self.url}/api/v1/").status > 0, timeout=timeout
        ):
            self.stop()
            raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log_tail()}")
        return self


@dataclass
class Answer:
    status: int  # 0: no HTTP answer at all (connection refused, reset or timed out)
    body: dict | list | str
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def server_error(self) -> bool:
        return self.status >= 500 or self.status == 0


def call(method: str, url: str, *, token: str | None = None, body: dict | None = None, timeout=60) -> Answer:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, answer_headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, raw, answer_headers = exc.code, exc.read(), dict(exc.headers)
    except OSError as exc:  # refused, reset, timed out: no answer
        return Answer(0, f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - started)
    text = raw.decode(errors="replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text
    return Answer(status, parsed, answer_headers, time.monotonic() - started)


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc, Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().split("\0")[:-1]
    except OSError:
        return []
