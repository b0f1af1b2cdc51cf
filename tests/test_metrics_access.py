"""Who may read GET /metrics: a bearer token (METRICS_TOKEN), a client network (METRICS_ALLOWED_NETWORKS,
the address as TRUSTED_PROXIES resolves it), either one; with neither it does not exist (404), except for
loopback with DEBUG on. Misconfiguration stops start-up."""

import pytest

from tests.test_settings import start

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789abcdef"
OUTSIDE = "192.0.2.7"
LAB = "10.20.3.4"


def scrape(client, *, address="127.0.0.1", **headers):
    return client.get("/metrics", REMOTE_ADDR=address, headers=headers)


def test_with_nothing_configured_metrics_does_not_exist(client, settings):
    settings.DEBUG = False
    response = scrape(client)
    assert response.status_code == 404
    assert "METRICS_TOKEN" in response.json()["detail"]
    assert scrape(client, Authorization=f"Bearer {TOKEN}").status_code == 404


def test_in_debug_loopback_may_read_it_but_nobody_else(client, settings):
    settings.DEBUG = True
    response = scrape(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-cache" in response["Cache-Control"]
    assert scrape(client, address="::1").status_code == 200
    assert scrape(client, address=OUTSIDE).status_code == 404


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN


def test_the_right_bearer_token_reads_it_from_anywhere(client, token):
    response = scrape(client, address=OUTSIDE, Authorization=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert b"itsm_incidents_open" in response.content


def test_without_a_token_the_answer_is_401_asking_for_one(client, token):
    for headers in ({}, {"Authorization": f"Token {TOKEN}"}, {"Authorization": "Bearer "}):
        response = scrape(client, address=OUTSIDE, **headers)
        assert response.status_code == 401, headers
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert TOKEN not in response.content.decode()


@pytest.mark.parametrize("presented", [TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "ünïcödé-token-ünïcödé"])
def test_a_wrong_token_is_403(client, token, presented):
    response = scrape(client, address=OUTSIDE, Authorization=f"Bearer {presented}")
    assert response.status_code == 403
    assert response.json() == {"detail": "Wrong token."}


@pytest.fixture
def lab_network(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16", "2001:db8::/32"]


def test_an_allowed_network_reads_it_without_a_token(client, lab_network):
    assert scrape(client, address=LAB).status_code == 200
    assert scrape(client, address="2001:db8::5").status_code == 200


def test_an_address_outside_the_allowed_networks_is_403(client, lab_network):
    assert scrape(client, address=OUTSIDE).status_code == 403
    assert scrape(client, address="127.0.0.1").status_code == 403


def test_a_forwarded_for_header_written_by_the_client_does_not_count(client, lab_network):
    response = scrape(client, address=OUTSIDE, **{"X-Forwarded-For": LAB})
    assert response.status_code == 403


def test_behind_a_trusted_proxy_the_client_address_is_the_one_it_resolves(client, settings, lab_network):
    settings.TRUSTED_PROXIES = ["192.0.2.10"]
    assert scrape(client, address="192.0.2.10", **{"X-Forwarded-For": LAB}).status_code == 200
    # The proxy's own address is not the client's; the right-most untrusted address decides.
    assert scrape(client, address="192.0.2.10").status_code == 403
    forged = {"X-Forwarded-For": f"{LAB}, {OUTSIDE}"}
    assert scrape(client, address="192.0.2.10", **forged).status_code == 403


def test_with_both_either_one_is_enough(client, token, lab_network):
    assert scrape(client, address=LAB).status_code == 200
    assert scrape(client, address=OUTSIDE, Authorization=f"Bearer {TOKEN}").status_code == 200
    assert scrape(client, address=OUTSIDE).status_code == 401
    assert scrape(client, address=OUTSIDE, Authorization="Bearer nope").status_code == 403


def test_only_get_and_head(client, token):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/metrics", headers=auth).status_code == 405
    assert client.head("/metrics", headers=auth).status_code == 200


@pytest.mark.parametrize(
    ("variable", "value"),
    [("METRICS_ALLOWED_NETWORKS", "10.20.0.0/16,10.300.0.0/16"), ("METRICS_TOKEN", "short")],
)
def test_a_bad_setting_stops_start_up_naming_it(variable, value):
    result = start(DEBUG="true", **{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and variable in result.stderr
