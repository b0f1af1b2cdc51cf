"""GET /api/v1/kpis/ and GET /api/v1/reports/service-impact/: the issue's JSON shapes, 400 on bad dates,
403 for users who may not see every incident."""

import pytest

from .stories import at, t

pytestmark = pytest.mark.django_db


def get(client, url, **params):
    with at(t(11, 20)):
        return client.get(url, params)


def test_kpis_shape_and_values(october, api_as, management):
    response = get(api_as(management), "/api/v1/kpis/", start="2026-10-01", end="2026-11-01")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [
        "start",
        "end",
        "mttr_seconds",
        "first_response_seconds",
        "first_response_p90_seconds",
        "reopen_rate",
        "sla_compliance",
        "response_sla_compliance",
        "self_healed_sla_compliance",
        "counts",
        "targets",
    ]
    assert body["start"] == "2026-10-01" and body["end"] == "2026-11-01"
    assert body["mttr_seconds"] == {"S1": 12600, "S2": 32400, "S3": 86400, "S4": 21600, "all": 33120}
    assert body["first_response_p90_seconds"]["all"] == 3600
    assert body["sla_compliance"] == 0.8
    assert body["targets"]["mttr_seconds"]["S1"] == {"target": 14400, "rule": "<", "met": True}
    assert body["counts"]["open_at_end"]["all"] == 3


def test_kpis_of_an_empty_period_are_null(api_as, manager):
    body = get(api_as(manager), "/api/v1/kpis/", start="2025-01-01", end="2025-02-01").json()
    assert body["mttr_seconds"]["all"] is None
    assert body["reopen_rate"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-10-01"}, "end"),
        ({"start": "2026-10-01", "end": "2026-13-01"}, "end"),
        ({"start": "yesterday", "end": "2026-11-01"}, "start"),
        ({"start": "2026-11-01", "end": "2026-10-01"}, "end"),
    ],
)
def test_kpis_bad_dates_are_400(api_as, manager, params, field):
    response = get(api_as(manager), "/api/v1/kpis/", **params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]
    assert body["detail"].startswith("Invalid input.")


def test_service_impact_shape(october, api_as, manager):
    response = get(api_as(manager), "/api/v1/reports/service-impact/", month="2026-10")
    assert response.status_code == 200
    body = response.json()
    assert {"month", "services", "totals", "trend", "recommendations"} <= set(body)
    assert body["month"] == "2026-10"
    alpha = body["services"][0]
    assert {
        "service",
        "incidents",
        "outage_minutes",
        "degraded_minutes",
        "availability",
        "mttr_seconds",
        "sla_compliance",
    } <= set(alpha)
    assert alpha["service"] == "alpha"
    # The one never classified counts with its provisional S3.
    assert alpha["incidents"] == {"S1": 3, "S2": 2, "S3": 2, "S4": 0, "unclassified": 0, "total": 7}
    assert len(body["trend"]) == 6


@pytest.mark.parametrize("month", ["2026-13", "2026/10", ""])
def test_service_impact_bad_month_is_400(api_as, manager, month):
    response = get(api_as(manager), "/api/v1/reports/service-impact/", month=month)
    assert response.status_code == 400
    assert "month" in response.json()["errors"]


def test_reports_are_for_those_who_see_every_incident(api, api_as, outsider):
    assert get(api, "/api/v1/kpis/", start="2026-10-01", end="2026-11-01").status_code == 401
    response = get(api_as(outsider), "/api/v1/reports/service-impact/", month="2026-10")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_the_schema_documents_the_report_endpoints(api_as, manager):
    schema = get(api_as(manager), "/api/v1/schema/", format="json").json()
    assert "/api/v1/kpis/" in schema["paths"]
    assert "/api/v1/reports/service-impact/" in schema["paths"]
