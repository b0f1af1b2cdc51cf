"""A cache that is down (CACHE_URL's Redis stopped) costs the API its rate limits, not its answers: the
throttles let requests through instead of answering 500, with one warning a minute; the escalation watchdog
reports rather than stays silent. And a broker that is down costs one request its timeouts, not every one.
The cache here is a real Redis client pointed at a port nobody listens on: redis-py's own errors."""

import logging
from datetime import timedelta

import pytest
from rest_framework import throttling as drf_throttling
from rest_framework.settings import api_settings

from escalation import services
from escalation.services import publishing
from incidents.api import throttling
from incidents.choices import Role
from tests.escalation.test_watchdog import T0, at, s4, watchdog_mails
from tests.escalation.worker import free_port
from tests.factories import make_user
from tests.incidents.alerting import ALERTMANAGER_URL, alertmanager_payload, make_source, post
from tests.test_settings import PRODUCTION, run_python

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-only"  # tests.factories.UserFactory


@pytest.fixture
def cache_down(settings, monkeypatch):
    """The default cache is a Redis that refuses connections, with the timeouts production gives it."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/1",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    # Low rates: had the throttles counted anywhere, these requests would be refused.
    monkeypatch.setattr(
        drf_throttling.SimpleRateThrottle,
        "THROTTLE_RATES",
        {**api_settings.DEFAULT_THROTTLE_RATES, "user": "1/min", "anon": "1/min", "alert_source": "1/min"},
    )
    monkeypatch.setattr(throttling, "_last_warning", -throttling.WARN_EVERY)


def test_the_cache_is_really_down(cache_down):
    from django.core.cache import cache
    from redis.exceptions import ConnectionError

    with pytest.raises(ConnectionError):
        cache.get("anything")


def test_signed_in_api_requests_answer_while_the_cache_is_down(cache_down, api_as, caplog):
    client = api_as(make_user(Role.SERVICE_DESK, username="desk"))
    with caplog.at_level(logging.WARNING, logger="incidents.api.throttling"):
        statuses = [client.get("/api/v1/incidents/").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    warnings = [r.getMessage() for r in caplog.records if r.name == "incidents.api.throttling"]
    assert warnings == ["Cache unavailable (ConnectionError): API rate limits are not applied"], (
        "once a minute"
    )


def test_the_token_endpoint_answers_while_the_cache_is_down(cache_down, api):
    make_user(Role.SERVICE_DESK, username="desk")
    guess = api.post("/api/v1/auth/token/", {"username": "desk", "password": "guess"}, format="json")
    assert guess.status_code == 400
    right = api.post("/api/v1/auth/token/", {"username": "desk", "password": PASSWORD}, format="json")
    assert right.status_code == 200 and right.data["token"]


def test_alert_intake_answers_while_the_cache_is_down(cache_down):
    _, token = make_source("Prometheus")
    statuses = [post(ALERTMANAGER_URL, alertmanager_payload(), token).status_code for _ in range(2)]
    assert statuses == [200, 200]


def test_the_throttles_still_count_when_the_cache_is_up(api_as, monkeypatch):
    monkeypatch.setattr(
        drf_throttling.SimpleRateThrottle,
        "THROTTLE_RATES",
        {**api_settings.DEFAULT_THROTTLE_RATES, "user": "1/min"},
    )
    client = api_as(make_user(Role.SERVICE_DESK, username="desk"))
    assert [client.get("/api/v1/incidents/").status_code for _ in range(2)] == [200, 429]


def test_the_watchdog_reports_while_the_cache_is_down(cache_down):
    im = make_user(Role.INCIDENT_MANAGERS, username="im", email="im@lab.example")
    incident = s4(im)  # response step due at +24 h; nobody runs the sweep
    with at(T0 + timedelta(hours=24, minutes=6)):
        assert services.watchdog()["reported"] == [incident.number]
    assert watchdog_mails().count() == 1


# --- queuing with the broker down -------------------------------------------------------------------------


class Broker:
    def __init__(self):
        self.down, self.sent = True, []

    def send(self, what):
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        self.sent.append(what)


def test_a_failed_publish_leaves_the_next_ones_to_the_sweep_for_a_while(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(publishing.time, "monotonic", lambda: clock[0])
    broker = Broker()
    assert not publishing.publish(lambda: broker.send("a"), what="a")
    broker.down = False
    assert not publishing.publish(lambda: broker.send("b"), what="b"), "not even tried"
    clock[0] += publishing.PAUSE_AFTER_FAILURE - 1
    assert not publishing.publish(lambda: broker.send("c"), what="c")
    clock[0] += 1
    assert publishing.publish(lambda: broker.send("d"), what="d")
    assert broker.sent == ["d"]


# --- the production settings ------------------------------------------------------------------------------


def test_production_redis_cache_and_broker_give_up_within_seconds():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "o = s.CELERY_BROKER_TRANSPORT_OPTIONS; "
        "print('values', s.CACHES['default']['OPTIONS'], o['socket_connect_timeout'], o['socket_timeout'], "
        "s.CELERY_TASK_PUBLISH_RETRY_POLICY['max_retries'], s.REST_FRAMEWORK['DEFAULT_THROTTLE_CLASSES'])"
    )
    result = run_python(
        code,
        **PRODUCTION,
        CACHE_URL="redis://127.0.0.1:6379/1",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("values", 1)[1].strip() == (
        "{'socket_connect_timeout': 1, 'socket_timeout': 1} 2 2 1 "
        "['incidents.api.throttling.UserRateThrottle', 'incidents.api.throttling.AnonRateThrottle']"
    )
