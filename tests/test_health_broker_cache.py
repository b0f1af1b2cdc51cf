"""GET /healthz also checks the Celery broker and the cache: 503 naming the one that is down, within about
2 seconds however the server fails (refusing, gone, or hanging), and never a host name or a password."""

import concurrent.futures
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from escalation import services
from escalation.choices import Job
from itsm import health
from tests.escalation.worker import RedisServer, free_port, require_redis_server

pytestmark = pytest.mark.django_db

SECRET = "s3cret-in-the-url"
BOUND = health.CHECK_TIMEOUT + 0.5  # seconds: the check's bound plus the rest of the request


@pytest.fixture(autouse=True)
def _sweep_ran():
    """The sweep just succeeded, so only the check under test can fail."""
    services.heartbeat_record(name=Job.ESCALATION_SWEEP)


@pytest.fixture(autouse=True)
def _no_probe_left_running():
    """A probe stuck on a hanging server is shared with the next request; let it end before the next test."""
    yield
    concurrent.futures.wait(list(health._in_flight.values()), timeout=10)


def healthz(client):
    started = time.monotonic()
    response = client.get("/healthz")
    return response, time.monotonic() - started


def test_all_up_with_the_test_brokers_and_cache(client):
    response, _ = healthz(client)
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert (checks["broker"], checks["cache"]) == ({"ok": True}, {"ok": True})


def test_a_broker_nobody_listens_on_is_a_503_naming_the_broker(client, settings):
    settings.CELERY_BROKER_URL = f"redis://:{SECRET}@127.0.0.1:{free_port()}/0"
    response, elapsed = healthz(client)
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"] == {"ok": False, "error": "OperationalError"}
    assert SECRET not in response.content.decode() and "127.0.0.1" not in response.content.decode()
    assert elapsed < BOUND


def test_a_cache_that_cannot_be_reached_is_a_503_naming_the_cache(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://:{SECRET}@127.0.0.1:{free_port()}/0",
        }
    }
    response, elapsed = healthz(client)
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["cache"]
    assert body["checks"]["cache"] == {"ok": False, "error": "ConnectionError"}
    assert SECRET not in response.content.decode()
    assert elapsed < BOUND


def test_a_cache_that_loses_what_it_was_given_fails(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    response, _ = healthz(client)
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == {"ok": False, "error": "LookupError"}


@pytest.fixture
def redis_server():
    require_redis_server()
    server = RedisServer().start()
    yield server
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGCONT)
    server.stop()


def test_a_real_redis_broker_stopped_then_hanging_is_reported_within_the_bound(
    client, settings, redis_server
):
    settings.CELERY_BROKER_URL = redis_server.url
    response, _ = healthz(client)
    assert response.status_code == 200, response.json()

    # Stopped: the connection is refused at once.
    redis_server.stop()
    response, elapsed = healthz(client)
    assert (response.status_code, response.json()["failing"]) == (503, ["broker"])
    assert elapsed < BOUND

    # Hanging (accepts connections, never answers): the request still answers within the bound, and a
    # second request meanwhile shares the stuck probe instead of starting another.
    redis_server.start()
    redis_server.process.send_signal(signal.SIGSTOP)
    for _ in range(2):
        response, elapsed = healthz(client)
        assert (response.status_code, response.json()["failing"]) == (503, ["broker"])
        assert elapsed < BOUND
    redis_server.process.send_signal(signal.SIGCONT)

    concurrent.futures.wait(list(health._in_flight.values()), timeout=10)
    response, _ = healthz(client)
    assert response.status_code == 200, response.json()


def test_the_sweep_heartbeat_still_counts(client):
    """The new checks do not mask the old one."""
    from escalation.models import Heartbeat

    Heartbeat.objects.update(last_success_at=timezone.now() - timedelta(minutes=10))
    response, _ = healthz(client)
    assert (response.status_code, response.json()["failing"]) == (503, ["escalation_sweep"])
