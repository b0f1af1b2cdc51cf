"""Accounts and sign-in: lockout after repeated failures (admin and API token endpoint) keyed on the account
and on the real client address, API tokens that expire and are revoked by a password change, and the admin
pages where Incident Managers release lockouts and revoke tokens."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle

from incidents.api.views import TokenObtainView
from incidents.choices import Role
from itsm.client_address import resolve, trusted_networks
from itsm.log_filters import ExceptionReporterFilter
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-only"
TOKEN_URL = "/api/v1/auth/token/"
LOGIN_URL = "/admin/login/"
START = timezone.make_aware(timezone.datetime(2026, 3, 2, 9, 0))


def admin_sign_in(client, username, password, **meta):
    return client.post(LOGIN_URL, {"username": username, "password": password, "next": "/admin/"}, **meta)


def token_sign_in(client, username, password, **meta):
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json", **meta)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- admin sign-in ---------------------------------------------------------------------------------------


def test_admin_guessing_is_locked_out_whatever_x_forwarded_for_says(manager):
    client = Client()
    statuses = [
        admin_sign_in(client, "manager", f"guess-{n}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(50)
    ]
    assert statuses[:4] == [200] * 4  # the form again, with its error
    assert set(statuses[4:]) == {429}

    response = admin_sign_in(client, "manager", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert response.status_code == 429
    assert not signed_in(client)
    assert "Too many failed sign-ins" in response.content.decode()
    assert int(response["Retry-After"]) == 15 * 60


def test_the_admin_lock_is_on_the_account_from_any_address(manager):
    for n in range(5):
        admin_sign_in(Client(), "manager", f"guess-{n}", REMOTE_ADDR="192.0.2.10")
    elsewhere = Client()
    assert admin_sign_in(elsewhere, "manager", PASSWORD, REMOTE_ADDR="192.0.2.20").status_code == 429
    assert not signed_in(elsewhere)


def test_the_admin_lock_is_on_the_address_for_any_account(manager):
    for n in range(5):
        admin_sign_in(Client(), f"someone-{n}", "guess", REMOTE_ADDR="192.0.2.30")
    same_address = Client()
    assert admin_sign_in(same_address, "manager", PASSWORD, REMOTE_ADDR="192.0.2.30").status_code == 429
    other_address = Client()
    assert admin_sign_in(other_address, "manager", PASSWORD, REMOTE_ADDR="192.0.2.31").status_code == 302
    assert signed_in(other_address)


def test_the_lock_lifts_after_the_lockout_time(manager):
    with time_machine.travel(START, tick=False) as traveller:
        for n in range(5):
            admin_sign_in(Client(), "manager", f"guess-{n}")
        assert admin_sign_in(Client(), "manager", PASSWORD).status_code == 429
        traveller.shift(timedelta(minutes=14))
        assert admin_sign_in(Client(), "manager", PASSWORD).status_code == 429  # restarted by that attempt
        traveller.shift(timedelta(minutes=16))
        client = Client()
        assert admin_sign_in(client, "manager", PASSWORD).status_code == 302
        assert signed_in(client)


def test_a_successful_sign_in_forgets_earlier_failures(manager):
    for _ in range(2):
        for n in range(4):
            assert admin_sign_in(Client(), "manager", f"guess-{n}").status_code == 200
        assert admin_sign_in(Client(), "manager", PASSWORD).status_code == 302


def test_an_incident_manager_sees_and_releases_a_lockout_in_the_admin(manager, service_desk):
    for n in range(5):
        admin_sign_in(Client(), "desk", f"guess-{n}", REMOTE_ADDR="192.0.2.40")
    assert admin_sign_in(Client(), "desk", PASSWORD, REMOTE_ADDR="192.0.2.41").status_code == 429

    releaser = Client()
    releaser.force_login(manager)
    listing = releaser.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "desk" in listing.content.decode()
    # Every attempt on the account (here from two addresses): search, select all, delete.
    attempts = list(AccessAttempt.objects.filter(username="desk").values_list("pk", flat=True))
    assert len(attempts) == 2
    response = releaser.post(
        "/admin/axes/accessattempt/?q=desk",
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="desk").exists()

    client = Client()
    assert admin_sign_in(client, "desk", PASSWORD, REMOTE_ADDR="192.0.2.41").status_code == 302
    assert signed_in(client)


def test_other_roles_cannot_release_lockouts(service_desk):
    client = Client()
    client.force_login(service_desk)
    assert client.get("/admin/axes/accessattempt/").status_code == 403


# --- the API token endpoint ------------------------------------------------------------------------------


def test_token_guessing_is_locked_out_whatever_x_forwarded_for_says(service_desk):
    client = APIClient()
    statuses = [
        token_sign_in(client, "desk", f"guess-{n}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(50)
    ]
    assert statuses[:4] == [400] * 4
    assert set(statuses[4:]) == {429}

    response = token_sign_in(client, "desk", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    assert "Too many failed sign-ins" in response.json()["detail"]
    assert int(response["Retry-After"]) == 15 * 60
    assert not Token.objects.filter(user=service_desk).exists()


def test_the_token_lock_is_on_the_account_and_on_the_address(service_desk, manager):
    for n in range(5):
        token_sign_in(APIClient(), "desk", f"guess-{n}", REMOTE_ADDR="192.0.2.50")
    assert token_sign_in(APIClient(), "desk", PASSWORD, REMOTE_ADDR="192.0.2.51").status_code == 429
    # The guessing address is locked for every account; another account elsewhere is not.
    assert token_sign_in(APIClient(), "manager", PASSWORD, REMOTE_ADDR="192.0.2.50").status_code == 429
    assert token_sign_in(APIClient(), "manager", PASSWORD, REMOTE_ADDR="192.0.2.52").status_code == 200


def test_the_anonymous_throttle_ignores_x_forwarded_for(monkeypatch):
    monkeypatch.setattr(
        AnonRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "2/min"}
    )
    client = APIClient()
    statuses = [
        token_sign_in(client, f"user-{n}", "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_the_token_view_hides_the_password_from_error_reports(rf):
    request = rf.post(TOKEN_URL, {"username": "desk", "password": "hunter2-secret"})
    TokenObtainView.as_view()(request)
    assert request.sensitive_post_parameters == ("password",)
    assert ExceptionReporterFilter().get_post_parameters(request)["password"] != "hunter2-secret"


# --- what PostgreSQL refuses to store (SQLite keeps it) ---------------------------------------------------

# Each sign-in page as a client sees it: the function, its client, its answer to credentials it refuses.
SIGN_IN_PAGES = {"admin": (admin_sign_in, Client, 200), "api": (token_sign_in, APIClient, 400)}


@pytest.mark.parametrize("page", sorted(SIGN_IN_PAGES))
def test_a_username_longer_than_axes_stores_is_a_failed_sign_in(postgres, page):
    sign_in, client_class, refused = SIGN_IN_PAGES[page]
    username = "u" * 300
    assert sign_in(client_class(), username, "guess").status_code == refused
    # Still counted (towards the address's lock), under the username cut to Axes' varchar(255).
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == [username[:255]]


@pytest.mark.parametrize("page", sorted(SIGN_IN_PAGES))
@pytest.mark.parametrize(
    ("username", "password"),
    [("de\x00sk", PASSWORD), ("desk", f"{PASSWORD}\x00"), ("u" * 300 + "\x00", "\x00")],
    ids=["username", "password", "both"],
)
def test_a_nul_character_in_the_credentials_is_refused(
    postgres, reference_data, service_desk, page, username, password
):
    sign_in, client_class, refused = SIGN_IN_PAGES[page]
    client = client_class()
    assert sign_in(client, username, password).status_code == refused
    assert not signed_in(client) and not Token.objects.exists()


# --- the client address behind trusted proxies -----------------------------------------------------------


@pytest.mark.parametrize(
    ("remote_addr", "forwarded_for", "client"),
    [
        ("198.51.100.7", "203.0.113.1", "198.51.100.7"),  # not from a proxy: the header is the client's
        ("10.9.0.2", "203.0.113.1", "203.0.113.1"),
        ("10.9.0.2", "6.6.6.6, 203.0.113.1", "203.0.113.1"),  # what the client wrote itself is ignored
        ("10.9.0.2", "203.0.113.1, 10.9.0.3", "203.0.113.1"),  # two proxies
        ("10.9.0.2", "unknown", "10.9.0.2"),
        ("10.9.0.2", "", "10.9.0.2"),
    ],
)
def test_the_client_address_behind_trusted_proxies(remote_addr, forwarded_for, client):
    assert resolve(remote_addr, forwarded_for, trusted_networks(["10.9.0.0/16"])) == client


def test_failures_through_a_trusted_proxy_count_against_the_client(settings, service_desk):
    settings.TRUSTED_PROXIES = ["10.9.0.0/16"]
    client = APIClient()  # its handler loads the middleware with these settings
    token_sign_in(
        client, "desk", "guess", REMOTE_ADDR="10.9.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5"
    )
    token_sign_in(client, "desk", "guess", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert sorted(AccessAttempt.objects.values_list("ip_address", flat=True)) == [
        "198.51.100.9",
        "203.0.113.5",
    ]


# --- API tokens: lifetime and revocation -----------------------------------------------------------------


def api_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_expires_after_its_lifetime_and_a_new_one_is_issued(service_desk):
    with time_machine.travel(START, tick=False) as traveller:
        key = token_sign_in(APIClient(), "desk", PASSWORD).json()["token"]
        traveller.shift(timedelta(days=30) - timedelta(seconds=1))
        assert api_with(key).get("/api/v1/incidents/").status_code == 200
        assert token_sign_in(APIClient(), "desk", PASSWORD).json()["token"] == key  # still the same

        traveller.shift(timedelta(seconds=1))
        response = api_with(key).get("/api/v1/incidents/")
        assert response.status_code == 401
        assert response.json() == {"detail": "Token expired; request a new one.", "code": "token_expired"}
        assert response["WWW-Authenticate"] == "Token"

        fresh = token_sign_in(APIClient(), "desk", PASSWORD).json()["token"]
        assert fresh != key
        assert api_with(fresh).get("/api/v1/incidents/").status_code == 200
        assert api_with(key).get("/api/v1/incidents/").status_code == 401


def test_a_client_still_sending_its_expired_token_gets_a_new_one(service_desk):
    """The token endpoint reads no credentials but the body's: a generated client configured with its old
    token asks for a new one without being refused for the old one first."""
    with time_machine.travel(START, tick=False) as traveller:
        key = token_sign_in(APIClient(), "desk", PASSWORD).json()["token"]
        traveller.shift(timedelta(days=31))
        response = token_sign_in(api_with(key), "desk", PASSWORD)
        assert response.status_code == 200, response.content
        fresh = response.json()["token"]
        assert fresh != key
        assert api_with(fresh).get("/api/v1/incidents/").status_code == 200


def test_the_lifetime_is_configurable(settings, service_desk):
    settings.API_TOKEN_TTL = timedelta(hours=1)
    with time_machine.travel(START, tick=False) as traveller:
        key = token_sign_in(APIClient(), "desk", PASSWORD).json()["token"]
        traveller.shift(timedelta(hours=1))
        assert api_with(key).get("/api/v1/incidents/").status_code == 401


def _change_password_with_set_password(user, monkeypatch):
    user.set_password("a-new-Passw0rd-for-tests")
    user.save()


def _change_password_in_the_admin(user, monkeypatch):
    admin = Client()
    admin.force_login(make_user(username="root", is_superuser=True))
    response = admin.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"password1": "a-new-Passw0rd-for-tests", "password2": "a-new-Passw0rd-for-tests"},
    )
    assert response.status_code == 302


def _change_password_with_the_command(user, monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a-new-Passw0rd-for-tests")
    call_command("changepassword", user.username, stdout=None)


@pytest.mark.parametrize(
    "change_password",
    [_change_password_with_set_password, _change_password_in_the_admin, _change_password_with_the_command],
    ids=["set_password", "admin", "changepassword"],
)
def test_changing_the_password_revokes_the_token(service_desk, change_password, monkeypatch):
    key = token_sign_in(APIClient(), "desk", PASSWORD).json()["token"]
    change_password(service_desk, monkeypatch)
    assert not Token.objects.filter(key=key).exists()
    assert api_with(key).get("/api/v1/incidents/").status_code == 401
    assert token_sign_in(APIClient(), "desk", "a-new-Passw0rd-for-tests").status_code == 200


def test_saving_a_user_without_a_new_password_keeps_the_token(service_desk):
    key = token_sign_in(APIClient(), "desk", PASSWORD).json()["token"]
    service_desk.email = "desk@lab.example"
    service_desk.save()
    service_desk.last_login = timezone.now()
    service_desk.save(update_fields=["last_login"])
    assert api_with(key).get("/api/v1/incidents/").status_code == 200


def test_a_deactivated_users_token_is_refused(service_desk):
    key = token_sign_in(APIClient(), "desk", PASSWORD).json()["token"]
    get_user_model().objects.filter(pk=service_desk.pk).update(is_active=False)
    response = api_with(key).get("/api/v1/incidents/")
    assert response.status_code == 401


def test_an_incident_manager_lists_tokens_without_their_keys_and_revokes_them(manager, service_desk):
    key = token_sign_in(APIClient(), "desk", PASSWORD).json()["token"]
    admin = Client()
    admin.force_login(manager)
    listing = admin.get("/admin/incidents/apitoken/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "desk" in page and key[:4] in page and key not in page
    for page in ("change", "delete"):
        response = admin.get(f"/admin/incidents/apitoken/{service_desk.pk}/{page}/")
        assert response.status_code == 200
        assert "API token of desk" in response.content.decode() and key not in response.content.decode()

    response = admin.post(f"/admin/incidents/apitoken/{service_desk.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert api_with(key).get("/api/v1/incidents/").status_code == 401


def test_other_roles_do_not_see_tokens(service_desk):
    client = Client()
    client.force_login(make_user(Role.SERVICE_DESK, username="desk2"))
    assert client.get("/admin/incidents/apitoken/").status_code == 403


@pytest.mark.parametrize(("trusted", "answer"), [([], 301), (["127.0.0.1"], 200)])
def test_x_forwarded_proto_counts_only_from_a_trusted_proxy(settings, trusted, answer):
    """A client reaching the web server directly cannot pass plain HTTP off as HTTPS with the header."""
    settings.TRUSTED_PROXIES = trusted
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    response = Client(REMOTE_ADDR="127.0.0.1").get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == answer
