"""Times in the user's time zone (issue #9, item 3): a per-user preference (default `TIME_ZONE`) that each
user sets for themselves, activated for each of their requests, so every time the admin shows is theirs,
with the zone's abbreviation. Reports and e-mails stay in `TIME_ZONE`."""

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents import selectors, services
from incidents.choices import State
from incidents.exceptions import PermissionDenied, ValidationError
from incidents.models import UserPreference
from reporting.periods import parse_month
from tests.factories import incident_in, make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 23:00 CET, 17:00 EST
PREFERENCES_URL = reverse("admin:incidents_userpreference_changelist")


@pytest.fixture
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"


@pytest.fixture
def incident(manager):
    with time_machine.travel(T0, tick=False):
        return incident_in(State.CLASSIFIED, manager=manager)


def change_page(client, incident):
    with time_machine.travel(T0, tick=False):
        return client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()


def test_times_default_to_the_site_zone_with_its_abbreviation(client, manager, incident, berlin):
    client.force_login(manager)
    page = change_page(client, incident)
    assert "Response due 23:15 CET" in page
    assert "2 Mar 2026, 23:00 CET" in page  # the read-only logging time
    with time_machine.travel(T0, tick=False):
        listing = client.get(reverse("admin:incidents_incident_changelist")).content.decode()
    assert 'title="Response due 23:15 CET · Resolution due Tue 03:00 CET"' in listing  # the SLA badge


def test_each_user_sees_times_in_their_own_zone(client, manager, service_desk, incident, berlin):
    client.force_login(manager)
    response = client.post(PREFERENCES_URL, {"time_zone": "America/New_York"})
    assert response.status_code == 302
    assert [str(m) for m in client.get(response.url).context["messages"]] == [
        "Preferences saved: times show in America/New_York."
    ]
    page = change_page(client, incident)
    assert "Response due 17:15 EST · Resolution due 21:00 EST" in re.sub(r"<[^>]+>", "", page)
    assert "2 Mar 2026, 17:00 EST" in page
    assert "CET" not in page
    history = client.get(reverse("admin:incidents_incident_history", args=[incident.pk])).content.decode()
    assert "EST" in history and "CET" not in history

    client.force_login(service_desk)  # someone else still sees the site's zone
    assert "Response due 23:15 CET" in change_page(client, incident)


def test_the_zone_is_only_for_the_request(client, manager, incident, berlin):
    UserPreference.objects.create(user=manager, time_zone="Asia/Tokyo")
    client.force_login(manager)
    assert "Response due 07:15 JST" in change_page(client, incident)
    assert timezone.get_current_timezone_name() == "Europe/Berlin"


def test_the_preferences_page_is_ones_own(client, manager, service_desk, management):
    UserPreference.objects.create(user=service_desk, time_zone="Asia/Tokyo")
    for user in (manager, service_desk, management):  # every role, read-only ones too
        client.force_login(user)
        page = client.get(PREFERENCES_URL)
        assert page.status_code == 200
        selected = re.search(r'<option value="([^"]*)" selected>', page.content.decode())
        assert (selected.group(1) if selected else "") == ("Asia/Tokyo" if user == service_desk else "")
    assert 'id="preferences-link"' in client.get(reverse("admin:index")).content.decode()
    # No page names another user's row.
    other = UserPreference.objects.get(user=service_desk)
    client.force_login(manager)
    assert client.get(f"{PREFERENCES_URL}{other.pk}/change/").status_code == 404
    assert client.get(f"{PREFERENCES_URL}add/").status_code == 404


def test_an_unknown_zone_is_refused(client, manager):
    client.force_login(manager)
    response = client.post(PREFERENCES_URL, {"time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert not UserPreference.objects.filter(user=manager).exists()
    with pytest.raises(ValidationError) as refused:
        services.user_preference_set(user=manager, time_zone="Mars/Olympus_Mons")
    assert refused.value.message_dict == {
        "time_zone": ["'Mars/Olympus_Mons' is not an IANA time zone (for example Europe/Madrid or UTC)."]
    }


def test_back_to_the_site_zone(manager):
    services.user_preference_set(user=manager, time_zone="Asia/Tokyo")
    assert str(selectors.user_time_zone(manager)) == "Asia/Tokyo"
    services.user_preference_set(user=manager, time_zone="")
    assert selectors.user_time_zone(manager) is None
    assert UserPreference.objects.filter(user=manager).count() == 1


def test_nobody_sets_preferences_without_signing_in():
    with pytest.raises(PermissionDenied):
        services.user_preference_set(user=AnonymousUser(), time_zone="UTC")


def test_api_token_requests_cost_no_preference_query(api_as, manager):
    UserPreference.objects.create(user=manager, time_zone="Asia/Tokyo")
    client = api_as(manager)
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/incidents/")
    assert not any("incidents_userpreference" in q["sql"] for q in queries.captured_queries)


def test_reports_stay_in_the_site_zone_whatever_the_users(berlin):
    """A month is `TIME_ZONE`'s month for everyone; a user's zone must not move its days."""
    with timezone.override("America/Los_Angeles"):
        march = parse_month("2026-03")
        assert (march.first_day, march.last_day) == (date(2026, 3, 1), date(2026, 3, 31))


def test_a_user_of_the_site_zone_has_no_row_and_the_default_applies(db):
    user = make_user(username="newcomer")
    assert selectors.user_time_zone(user) is None
