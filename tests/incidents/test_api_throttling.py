"""API throttling: beyond the per-user rate the API answers 429 with Retry-After, in the usual error shape."""

import pytest
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_user_rate(monkeypatch):
    cache.clear()
    monkeypatch.setattr(
        UserRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/min"}
    )
    yield
    cache.clear()


def test_too_many_requests_is_429_with_retry_after(api_as, service_desk, low_user_rate):
    client = api_as(service_desk)
    statuses = [client.get("/api/v1/incidents/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/incidents/")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.data["code"] == "throttled" and "detail" in response.data


def test_the_limit_is_per_user(api_as, service_desk, manager, low_user_rate):
    desk = api_as(service_desk)
    for _ in range(3):
        desk.get("/api/v1/services/")
    assert desk.get("/api/v1/services/").status_code == 429
    assert api_as(manager).get("/api/v1/services/").status_code == 200


def test_password_guessing_at_the_token_endpoint_is_throttled(api, monkeypatch):
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(
        AnonRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "2/min"}
    )
    statuses = [
        api.post("/api/v1/auth/token/", {"username": "desk", "password": f"guess{n}"}).status_code
        for n in range(3)
    ]
    assert statuses == [400, 400, 429]
