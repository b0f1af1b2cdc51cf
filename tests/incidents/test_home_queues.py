"""The admin home page's work queues and the major-incident banner of every admin page (issue #9, item 1).

Each queue is a count over the incidents the user may see and a link to the incident list filtered to the
same incidents: following the link lists exactly what was counted.
"""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from incidents import selectors, services
from incidents.choices import Role, State, Tier
from tests.factories import INVESTIGATION, incident_in, make_user

pytestmark = pytest.mark.django_db

INDEX_URL = reverse("admin:index")
T0 = timezone.now().replace(microsecond=0) - timedelta(days=1)


def queues_of(response):
    return {queue["key"]: queue for queue in response.context["work_queues"]}


def listed_by(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return {incident.pk for incident in response.context["cl"].result_list}


@pytest.fixture
def desk_world(manager):
    """What a Service Desk member's queues are about, all S3 (4 h response, 24 h resolution) but the major
    one, logged at T0."""
    desk = make_user(Role.SERVICE_DESK, username="dana", first_name="Dana", last_name="Eskin")
    sysadmin = make_user(Role.SYSADMINS, username="sam")

    def s3(state, **kwargs):
        return incident_in(state, manager=manager, urgency="medium", impact="medium", **kwargs)

    with time_machine.travel(T0, tick=False):
        mine = services.incident_update(
            incident=s3(State.INVESTIGATING), user=manager, data={"assignee": desk}
        )
        unassigned_tier1 = s3(State.CLASSIFIED)  # response due T0 + 4 h
        unassigned_tier2 = services.incident_set_tier(
            incident=s3(State.CLASSIFIED), user=manager, tier=Tier.TIER2, assignee=None, reason="sysadmins"
        )
        theirs = services.incident_update(
            incident=s3(State.INVESTIGATING), user=manager, data={"assignee": sysadmin}
        )
        major = s3(State.INVESTIGATING, title="Core switch down")
        major = services.incident_set_major(incident=major, user=manager, is_major=True, reason="site down")
        resolved = s3(State.RESOLVED)
        s3(State.CLOSED)
        s3(State.CANCELLED)
        # A security incident the Service Desk may not see: counted nowhere for them.
        secret = services.incident_create(
            user=manager, title="SSH brute force", incident_type="unauthorized_access"
        )
    return {
        "desk": desk,
        "mine": mine,
        "unassigned_tier1": unassigned_tier1,
        "unassigned_tier2": unassigned_tier2,
        "theirs": theirs,
        "major": major,
        "resolved": resolved,
        "secret": secret,
    }


def test_each_queue_counts_what_its_link_lists(client, desk_world):
    w = desk_world
    client.force_login(w["desk"])
    expected = {
        selectors.QUEUE_MINE: {w["mine"].pk},
        selectors.QUEUE_MY_TIER_UNASSIGNED: {w["unassigned_tier1"].pk},  # tier 1 only (the secret is hidden)
        selectors.QUEUE_BREACHING: {w["unassigned_tier1"].pk, w["unassigned_tier2"].pk},
        selectors.QUEUE_MAJOR: {w["major"].pk},
        selectors.QUEUE_AWAITING_CLOSURE: {w["resolved"].pk},
    }
    # 3 h 45 min after logging: both classified S3 incidents' response is due within 30 minutes.
    with time_machine.travel(T0 + timedelta(hours=3, minutes=45), tick=False):
        queues = queues_of(client.get(INDEX_URL))
        assert list(queues) == list(selectors.QUEUES)
        for key, pks in expected.items():
            assert queues[key]["count"] == len(pks), key
            assert listed_by(client, queues[key]["url"]) == pks, key
    page = client.get(INDEX_URL).content.decode()
    assert "My tier, unassigned" in page and 'id="sweep-stale"' in page  # the sweep warning stays


def test_breaching_means_due_within_30_minutes_or_past_on_the_clock_that_runs(client, manager):
    desk = make_user(Role.SERVICE_DESK, username="dana")
    with time_machine.travel(T0, tick=False):
        awaiting_response = incident_in(State.CLASSIFIED, manager=manager, urgency="medium", impact="medium")
        responded = incident_in(State.INVESTIGATING, manager=manager, urgency="medium", impact="medium")
        held = incident_in(State.ON_HOLD, manager=manager, urgency="medium", impact="medium")

    def breaching(at):
        with time_machine.travel(at, tick=False):
            return selectors.work_queues(user=desk, now=timezone.now())[selectors.QUEUE_BREACHING]

    assert breaching(T0 + timedelta(hours=3, minutes=29)) == 0  # response due at 4 h: 31 min left
    assert breaching(T0 + timedelta(hours=3, minutes=31)) == 1  # the response clock
    assert breaching(T0 + timedelta(hours=23, minutes=31)) == 2  # + the responded one's resolution clock
    assert breaching(T0 + timedelta(days=3)) == 2  # the one on hold was put on hold in time: paused
    assert awaiting_response.pk and responded.pk and held.pk


def test_people_without_a_support_role_get_no_queues(client, management):
    client.force_login(management)
    response = client.get(INDEX_URL)
    assert response.context["work_queues"] == []
    assert "Work queues" not in response.content.decode()


def test_the_home_page_counts_in_one_query_and_costs_the_same_whatever_the_data(
    client, desk_world, manager, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        selectors.work_queues(user=desk_world["desk"], now=timezone.now())
    assert len(queries) == 1
    client.force_login(desk_world["desk"])
    with django_assert_max_num_queries(14) as few:
        client.get(INDEX_URL)
    for _ in range(5):
        incident_in(State.INVESTIGATING, manager=manager, urgency="medium", impact="medium")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(INDEX_URL)


# --- the major-incident banner ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:index"),
        reverse("admin:incidents_incident_changelist"),
        reverse("admin:incidents_service_changelist"),
        reverse("admin:password_change"),
    ],
)
def test_a_banner_on_every_admin_page_while_a_major_incident_is_open(client, desk_world, url):
    major = desk_world["major"]
    client.force_login(desk_world["desk"])
    page = client.get(url).content.decode()
    assert 'id="major-banner"' in page
    assert reverse("admin:incidents_incident_change", args=[major.pk]) in page
    assert "Core switch down" in page


def test_the_banner_also_shows_on_an_incident_page_and_goes_when_the_incident_closes(client, manager):
    major = incident_in(State.INVESTIGATING, manager=manager, urgency="medium", impact="medium")
    services.incident_set_major(incident=major, user=manager, is_major=True, reason="site down")
    other = incident_in(State.CLASSIFIED, manager=manager, urgency="medium", impact="medium")
    client.force_login(manager)
    change_url = reverse("admin:incidents_incident_change", args=[other.pk])
    assert 'id="major-banner"' in client.get(change_url).content.decode()
    services.incident_resolve(
        incident=major, user=manager, code="fixed", notes="switch replaced", **INVESTIGATION
    )
    assert 'id="major-banner"' not in client.get(change_url).content.decode()


def test_the_banner_names_only_major_incidents_the_user_may_see(client, manager):
    secret = services.incident_create(
        user=manager, title="SSH brute force", incident_type="unauthorized_access"
    )
    services.incident_set_major(incident=secret, user=manager, is_major=True, reason="breach")
    desk = make_user(Role.SERVICE_DESK, username="dana")
    client.force_login(desk)
    page = client.get(INDEX_URL).content.decode()
    assert 'id="major-banner"' not in page and "SSH brute force" not in page
    client.force_login(manager)
    assert "SSH brute force" in client.get(INDEX_URL).content.decode()


def test_the_banner_is_one_query_and_links_to_all_when_there_are_many(
    client, manager, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(manager)
    url = reverse("admin:incidents_service_changelist")
    with CaptureQueriesContext(connection) as without:
        client.get(url)
    for n in range(5):
        incident = incident_in(State.CLASSIFIED, manager=manager, urgency="medium", impact="medium")
        services.incident_set_major(incident=incident, user=manager, is_major=True, reason=f"outage {n}")
    with CaptureQueriesContext(connection) as with_banner:
        page = client.get(url).content.decode()
    assert len(with_banner) == len(without)  # the banner's one query runs either way
    assert page.count("/change/") >= 3 and "all open major incidents" in page
    assert "?is_major__exact=1" in page


def test_the_login_page_asks_nothing_about_incidents(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(0):
        assert client.get(reverse("admin:login")).status_code == 200
