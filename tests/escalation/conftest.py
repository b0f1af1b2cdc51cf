"""Fixtures for the escalation tests."""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.db import connection

from tests.escalation.webhook_receiver import signed_receiver  # noqa: F401 (a fixture)
from tests.escalation.worker import RedisServer, point_publisher, require_redis_server, reset_publisher


@pytest.fixture
def loopback_webhooks(settings):
    """Webhooks to 127.0.0.1 allowed, as a lab would list its own chat server: by default delivery refuses
    loopback and private addresses."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def receiver(loopback_webhooks):
    """A local HTTP server recording what it receives; answers with `status` and `headers` (settable).
    `requests` lists every (method, path) asked for, GETs too (a followed redirect would be one)."""
    received, requests, state = [], [], {"status": 200, "headers": {}}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            requests.append(("POST", self.path))
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(state["status"])
            for name, value in state["headers"].items():
                self.send_header(name, value)
            self.end_headers()

        def do_GET(self):
            requests.append(("GET", self.path))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {
        "url": f"http://127.0.0.1:{server.server_port}/hook",
        "port": server.server_port,
        "received": received,
        "requests": requests,
        "state": state,
    }
    server.shutdown()


@pytest.fixture
def own_redis(transactional_db):
    """A Redis of the test's own on a free port (never the machine's), for tests whose worker processes
    share the test's PostgreSQL database. Elsewhere they skip with the reason; under CI=true on PostgreSQL
    a missing redis-server fails instead."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL shared with the worker processes (DATABASE_URL=postgres://...)")
    require_redis_server()
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def queue_to_own_redis(own_redis, monkeypatch):
    """This process' Celery app (the web side, which queues tasks on commit) sending to that Redis."""
    yield point_publisher(monkeypatch, own_redis.url)
    reset_publisher()


@pytest.fixture
def started_workers():
    """Worker processes a test starts (`tests.escalation.worker.Worker`), stopped at the end."""
    started = []
    yield started
    for worker in started:
        worker.stop()
