"""Real processes for the integration tests: a Celery worker, and a Redis server a test may stop and start.

Both run in their own process group, so stopping one also stops its children (an embedded beat)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / "var"


class Worker:
    """`celery worker` in its own process group, pointed at the test database."""

    def __init__(self, broker_url, *, beat=False, log_name="test-worker.log"):
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": broker_url,
            "DJANGO_SETTINGS_MODULE": "itsm.settings",
        }
        self.args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "itsm",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if beat:
            self.args.append("--beat")
        self.log_path = LOG_DIR / log_name
        self.process = None

    def start(self):
        LOG_DIR.mkdir(exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept for the process' life)
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True
        )
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.alive:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Local only, no snapshot, no append-only file: a restarted server starts empty.
EPHEMERAL_REDIS = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]


def require_redis_server(*, required: bool = False) -> None:
    """Skip a test without the redis-server binary, with the reason; a failure under CI=true or `required`."""
    if RedisServer.binary is None:
        problem = "needs the redis-server binary on PATH (Debian: apt-get install redis-server)"
        if required or os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)


def point_publisher(monkeypatch, url: str):
    """This process' Celery app (the web side, which queues tasks on commit) sending to `url` from now on;
    `reset_publisher` at the end. Both connection pools are built, on first use, from broker_write_url."""
    from itsm.celery import app

    app.conf.broker_write_url = url
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    return app


def reset_publisher() -> None:
    from itsm.celery import app

    app.pool.force_close_all()
    app.conf.broker_write_url = None  # back to broker_url


class RedisServer:
    """A throw-away `redis-server` on 127.0.0.1 that keeps nothing on disk: stopping it loses every
    message, as a Redis crash without persistence does. `start()` again comes back on the same port."""

    binary = shutil.which("redis-server")

    def __init__(self, *, port=None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self, *, timeout=10.0):
        import redis

        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), *EPHEMERAL_REDIS],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        with redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1) as client:
            up = wait_for(lambda: _answers(client), timeout=timeout)
        if not up:
            self.stop()
            raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout} s")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _answers(client) -> bool:
    import redis

    try:
        return client.ping()
    except redis.RedisError:
        return False


def wait_for(predicate, *, timeout=60.0, interval=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
