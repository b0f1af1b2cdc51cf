import contextlib

import pytest
from django.apps import apps
from django.db import connection
from rest_framework.test import APIClient

from escalation.reference_data import seed_escalation_data
from incidents.choices import Role
from incidents.reference_data import seed_reference_data
from tests.factories import make_user

# Browser-test fixtures (Playwright driving /usr/bin/chromium): page, live_site; helpers admin_login, shot.
pytest_plugins = ["tests.browser"]


@pytest.fixture
def reference_data(db):
    """Migration-seeded rows are wiped by transactional tests' flush; seed them again (idempotent)."""
    seed_reference_data(apps)
    seed_escalation_data(apps)


@pytest.fixture
def postgres(db):
    """Skip tests that need PostgreSQL on the SQLite pass, with the reason; they run in the PostgreSQL pass."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://... (the CI's PostgreSQL pass does)")


@pytest.fixture
def service_desk(db):
    return make_user(Role.SERVICE_DESK, username="desk")


@pytest.fixture
def sysadmin(db):
    return make_user(Role.SYSADMINS, username="sysadmin")


@pytest.fixture
def expert(db):
    return make_user(Role.EXPERTS, username="expert")


@pytest.fixture
def manager(db):
    return make_user(Role.INCIDENT_MANAGERS, username="manager")


@pytest.fixture
def management(db):
    return make_user(Role.MANAGEMENT, username="boss")


@pytest.fixture
def outsider(db):
    """Signed in but holding no role."""
    return make_user(username="outsider", is_staff=False)


@pytest.fixture
def api():
    """An API client; call `api.force_authenticate(user)` or use `api_as`."""
    return APIClient()


@pytest.fixture
def api_as(db):
    def login(user):
        from rest_framework.authtoken.models import Token

        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return login


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache: every test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _broker_not_paused():
    """A test that failed to queue a task pauses this process' queuing for a while: not the next test's."""
    from escalation.services import publishing

    publishing.resume()


@pytest.fixture(autouse=True)
def _empty_service_catalogue(request):
    """The migration seeds the lab's real catalogue; tests build the services they talk about."""
    marker = request.node.get_closest_marker("django_db")
    names = request.fixturenames
    if "transactional_db" in names or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    elif marker or "db" in names:
        request.getfixturevalue("db")
    else:
        return
    from django.contrib.auth.models import Group
    from django.db.models import ProtectedError

    from incidents.models import Service
    from incidents.reference_data import LAB_SERVICES

    if not Group.objects.filter(name=Role.SERVICE_DESK).exists():
        # A transactional test before this one flushed what the migrations seeded: seed it again, so that
        # a test's outcome never depends on which tests ran before it.
        from reporting.reference_data import seed_reporting_data

        seed_reference_data(apps)
        seed_escalation_data(apps)
        seed_reporting_data(apps)

    unused = Service.objects.filter(slug__in=[s.slug for s in LAB_SERVICES], incidents__isnull=True)
    with contextlib.suppress(ProtectedError):  # a module-scoped fixture's data uses it: leave it
        unused.delete()
