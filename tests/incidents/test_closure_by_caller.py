"""Closure verified by the caller (issue 10, item 4): resolving asks the caller through signed links that
work without signing in, once, until the auto-close; confirming closes as the caller, *not fixed* reopens
with their words; unanswered, the beat task closes it; staff close with closure notes."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from escalation.models import Notification
from incidents import services
from incidents.caller_links import Answer, LinkRefused, answer_token, caller_links
from incidents.choices import ClosedBy, EventKind, State
from incidents.exceptions import PermissionDenied, ValidationError
from incidents.models import Incident, ProcessSettings
from incidents.tasks import auto_close_resolved
from tests.factories import incident_in, make_user

pytestmark = pytest.mark.django_db

CONTACT = {"caller_name": "Bo Lind", "caller_email": "bo@uni.example"}
FIVE_DAYS = timedelta(days=5)


def resolved(manager, **kwargs):
    """An S4 incident a manager logged for Bo (a contact without a login), resolved."""
    return incident_in(State.RESOLVED, manager=manager, urgency="low", impact="low", **{**CONTACT, **kwargs})


def links_in_request(incident):
    """The two links of the Fix confirmation request Bo received, as paths of this site."""
    message = Notification.objects.get(
        incident=incident, template="closure_request", recipient="bo@uni.example"
    )
    urls = re.findall(r"https?://\S+/(?:confirm|not-fixed)/\S+/", message.body)
    assert len(urls) == 2, message.body
    return [urlsplit(url).path for url in urls]


def travel(moment):
    return time_machine.travel(moment, tick=False)


def page_text(response):
    return response.content.decode()


# --- staff close with closure notes -----------------------------------------------------------------------


def test_staff_close_only_with_closure_notes(manager):
    incident = resolved(manager)
    with pytest.raises(ValidationError) as caught:
        services.incident_close(incident=incident, user=manager, note="done")
    assert set(caught.value.message_dict) == {"closure_notes"}
    incident = services.incident_close(
        incident=incident, user=manager, closure_notes="Verified with Bo by phone."
    )
    assert (incident.state, incident.closed_by) == (State.CLOSED, ClosedBy.STAFF)
    assert incident.closure_notes == "Verified with Bo by phone."
    event = incident.timeline.get(transition="close")
    assert (event.actor, event.data["closed_by"]) == (manager, "staff")


def test_a_caller_with_an_account_confirms_signed_in_without_notes(manager):
    ana = make_user(username="ana", email="ana@lab.example", is_staff=False)
    incident = incident_in(State.RESOLVED, manager=manager, urgency="low", impact="low", caller=ana)
    assert services.allowed_transitions(incident, ana) == ["close", "reopen"]
    incident = services.incident_close(incident=incident, user=ana, note="Works again, thanks")
    assert (incident.state, incident.closed_by, incident.closure_notes) == (State.CLOSED, ClosedBy.CALLER, "")
    someone = make_user(username="someone", is_staff=False)
    with pytest.raises(PermissionDenied):
        services.incident_close(incident=resolved(manager), user=someone)


def test_the_api_close_asks_staff_for_closure_notes(api_as, manager):
    incident = resolved(manager)
    client = api_as(manager)
    url = f"/api/v1/incidents/{incident.number}/close/"
    refused = client.post(url, {"note": "done"}, format="json")
    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"closure_notes"}
    done = client.post(url, {"closure_notes": "Verified with Bo."}, format="json")
    assert done.status_code == 200
    assert (done.data["state"], done.data["closed_by"], done.data["closure_notes"]) == (
        "closed",
        "staff",
        "Verified with Bo.",
    )


def test_the_admin_close_form_asks_staff_for_closure_notes(client, manager):
    incident = resolved(manager)
    client.force_login(manager)
    url = reverse("admin:incidents_incident_transition", args=[incident.pk, "close"])
    form = client.get(url)
    assert 'name="closure_notes"' in page_text(form)
    refused = client.post(url, {"note": "done"})
    assert refused.status_code == 200 and "This field is required" in page_text(refused)
    client.post(url, {"closure_notes": "Verified with Bo."})
    incident.refresh_from_db()
    assert (incident.state, incident.closure_notes) == (State.CLOSED, "Verified with Bo.")


# --- the links --------------------------------------------------------------------------------------------


def test_resolving_sends_the_caller_two_links_and_confirming_closes_as_the_caller(manager):
    incident = resolved(manager)
    confirm, not_fixed = links_in_request(incident)
    assert confirm.startswith("/confirm/") and not_fixed.startswith("/not-fixed/")
    browser = Client(enforce_csrf_checks=True)

    page = browser.get(confirm)  # opening the link (a mail scanner does too) changes nothing
    assert page.status_code == 200 and "Confirm it&#x27;s fixed" in page_text(page)
    assert Incident.objects.get(pk=incident.pk).state == State.RESOLVED
    assert page["Cache-Control"].startswith("max-age=0")

    assert browser.post(confirm).status_code == 403  # no CSRF token: refused
    token = page.cookies["csrftoken"].value
    done = browser.post(confirm, {"csrfmiddlewaretoken": token})
    assert done.status_code == 200 and "is closed" in page_text(done)
    incident.refresh_from_db()
    assert (incident.state, incident.closed_by) == (State.CLOSED, ClosedBy.CALLER)
    event = incident.timeline.get(transition="close")
    assert event.actor is None and event.note == "Fix confirmed by the caller (Bo Lind)."
    assert incident.history.latest().history_user is None

    again = browser.post(confirm, {"csrfmiddlewaretoken": token})  # each link works once
    assert again.status_code == 410 and "closed already" in page_text(again)
    assert browser.get(not_fixed).status_code == 410  # and answering one answers both


def test_not_fixed_asks_what_is_wrong_and_reopens_with_the_callers_words(client, manager):
    incident = resolved(manager)
    confirm, not_fixed = links_in_request(incident)
    assert 'name="reason"' in page_text(client.get(not_fixed))
    empty = client.post(not_fixed, {"reason": "  "})
    assert empty.status_code == 400 and "This field is required" in page_text(empty)
    assert Incident.objects.get(pk=incident.pk).state == State.RESOLVED

    done = client.post(not_fixed, {"reason": "Still disconnects every hour"})
    assert done.status_code == 200 and "reopened" in page_text(done)
    incident.refresh_from_db()
    assert (incident.state, incident.reopen_count) == (State.INVESTIGATING, 1)
    event = incident.timeline.get(transition="reopen")
    assert (event.note, event.visibility) == ("Not fixed, says the caller.", "public")
    # Their words are for the support team, not for the stakeholders the public timeline reaches.
    words = incident.timeline.get(kind=EventKind.COMMENT)
    assert words.note == "The caller (Bo Lind) says it is not fixed: Still disconnects every hour"
    assert words.visibility == "internal"
    assert client.get(confirm).status_code == 410  # the old links are dead

    # Resolved again: new links, the old ones stay dead.
    incident = services.incident_resolve(
        incident=incident, user=manager, code="fixed", notes="Replaced the AP"
    )
    assert client.post(confirm).status_code == 410
    assert Notification.objects.filter(incident=incident, template="closure_request").count() == 2
    newest = Notification.objects.filter(incident=incident, template="closure_request").latest("pk")
    new_confirm = urlsplit(re.search(r"https?://\S+/confirm/\S+/", newest.body).group(0)).path
    assert new_confirm != confirm
    assert client.post(new_confirm).status_code == 200
    assert Incident.objects.get(pk=incident.pk).closed_by == ClosedBy.CALLER


def test_a_link_expires_when_the_auto_close_would_happen(client, manager):
    incident = resolved(manager)
    confirm, not_fixed = links_in_request(incident)
    with travel(incident.resolved_at + FIVE_DAYS - timedelta(minutes=1)):
        assert client.get(confirm).status_code == 200
    with travel(incident.resolved_at + FIVE_DAYS + timedelta(minutes=1)):
        for response in (client.get(confirm), client.post(confirm), client.post(not_fixed, {"reason": "x"})):
            assert response.status_code == 410 and "expired" in page_text(response)
    assert Incident.objects.get(pk=incident.pk).state == State.RESOLVED


@pytest.mark.parametrize(
    "path",
    [
        "/confirm/not-a-token/",
        "/confirm/{tampered}/",
        "/not-fixed/{confirm_token}/",  # a confirmation token does not reopen
    ],
)
def test_a_link_we_did_not_make_is_not_found(client, manager, path):
    incident = resolved(manager)
    token = answer_token(incident, Answer.FIXED)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    response = client.post(path.format(tampered=tampered, confirm_token=token), {"reason": "x"})
    assert response.status_code == 404 and "not valid" in page_text(response)
    assert Incident.objects.get(pk=incident.pk).state == State.RESOLVED


def test_a_link_to_another_resolution_of_the_same_incident_is_dead(manager):
    incident = resolved(manager)
    old = caller_links(incident)
    incident = services.incident_reopen(incident=incident, user=manager, reason="came back")
    incident = services.incident_resolve(incident=incident, user=manager, code="fixed", notes="again")
    with pytest.raises(LinkRefused) as caught:
        services.incident_caller_confirm(token=urlsplit(old.confirm_url).path.split("/")[2])
    assert caught.value.reason == "used"
    assert Incident.objects.get(pk=incident.pk).state == State.RESOLVED


# --- closing without an answer ----------------------------------------------------------------------------


def test_unanswered_incidents_close_themselves_after_the_configured_period(manager):
    incident = resolved(manager)
    answered = resolved(manager, title="Answered meanwhile")
    services.incident_close(incident=answered, user=manager, closure_notes="Verified")
    with travel(incident.resolved_at + FIVE_DAYS - timedelta(minutes=1)):
        assert services.incidents_auto_close() == 0
    with travel(incident.resolved_at + FIVE_DAYS + timedelta(minutes=1)):
        assert auto_close_resolved() == 1  # the beat task
        assert auto_close_resolved() == 0  # safe to run twice
    incident.refresh_from_db()
    assert (incident.state, incident.closed_by) == (State.CLOSED, ClosedBy.AUTO)
    event = incident.timeline.get(transition="close")
    assert (
        event.actor is None
        and event.note == "Closed automatically: no answer within 5 days of the resolution."
    )
    assert Incident.objects.get(pk=answered.pk).closed_by == ClosedBy.STAFF


def test_an_incident_nobody_was_asked_about_waits_for_staff(manager):
    """Without a caller there was no question to answer: staff close it with the final documentation."""
    nobody = resolved(manager, caller_name="", caller_email="")
    assert nobody.caller is None and not nobody.caller_email
    with travel(nobody.resolved_at + FIVE_DAYS * 10):
        assert services.incidents_auto_close() == 0
    assert Incident.objects.get(pk=nobody.pk).state == State.RESOLVED


def test_the_period_is_the_process_settings(manager):
    settings = ProcessSettings.current()
    settings.auto_close_after = timedelta(days=2)
    settings.save()
    incident = resolved(manager)
    with travel(incident.resolved_at + timedelta(days=2, minutes=1)):
        assert services.incidents_auto_close() == 1
    assert Incident.objects.get(pk=incident.pk).closed_by == ClosedBy.AUTO


def test_a_reopened_incident_waits_for_its_new_resolution(manager):
    incident = resolved(manager)
    with travel(incident.resolved_at + timedelta(days=4)):
        incident = services.incident_reopen(incident=incident, user=manager, reason="came back")
        incident = services.incident_resolve(incident=incident, user=manager, code="fixed", notes="again")
    with travel(incident.resolved_at + timedelta(days=2)):  # 6 days after the first resolution
        assert services.incidents_auto_close() == 0
    assert Incident.objects.get(pk=incident.pk).state == State.RESOLVED


def test_the_auto_close_is_registered_with_celery_beat():
    task = PeriodicTask.objects.get(task="incidents.tasks.auto_close_resolved")
    assert task.enabled and (task.interval.every, task.interval.period) == (15, "minutes")


def test_the_timeline_says_the_caller_was_asked_without_naming_addresses(manager, api_as):
    """The entry is public (the caller and the reporter read it), so it says how many were asked, not who;
    staff read the addresses in the entry's data and the outbox."""
    researcher = make_user(username="okafor", is_staff=False, email="okafor@lab.example")
    incident = resolved(manager, caller=researcher, caller_name="", caller_email="")
    asked = incident.timeline.get(kind=EventKind.NOTIFICATION, data__template="closure_request")
    assert asked.visibility == "public" and asked.note.endswith("sent to 1 recipient")
    assert asked.data["recipients"] == ["okafor@lab.example"]

    def entry(user):
        timeline = api_as(user).get(f"/api/v1/incidents/{incident.number}/timeline/").json()
        return next(e for e in timeline if e["data"].get("template") == "closure_request")

    assert "recipients" not in entry(researcher)["data"]
    assert entry(manager)["data"]["recipients"] == ["okafor@lab.example"]


def test_the_desk_that_logged_it_for_someone_does_not_confirm_for_them(service_desk, manager):
    incident = incident_in(
        State.RESOLVED, manager=manager, reporter=service_desk, urgency="low", impact="low"
    )
    assert incident.caller is None  # staff logging without naming anyone
    with pytest.raises(PermissionDenied):
        services.incident_close(incident=incident, user=service_desk)
    contact = resolved(manager, reporter=service_desk)
    assert "close" not in services.allowed_transitions(contact, service_desk)


# --- the demo ---------------------------------------------------------------------------------------------


def test_the_demo_shows_a_fix_confirmed_through_the_link_and_an_auto_close(reference_data):
    from django.core.management import call_command

    call_command("load_demo", incidents=30, quiet=True)
    confirmed = Incident.objects.filter(closed_by=ClosedBy.CALLER, timeline__data__answer=Answer.FIXED)
    assert confirmed.exists()
    incident = confirmed.first()
    assert incident.timeline.get(transition="close").note.startswith("Fix confirmed by the caller")
    assert incident.caller is not None and incident.reporter != incident.caller  # the desk logged it for them
    auto = Incident.objects.filter(closed_by=ClosedBy.AUTO)
    assert auto.exists()
    assert all(i.closed_at - i.resolved_at >= FIVE_DAYS for i in auto)
    assert not Incident.objects.filter(state=State.CLOSED, closed_by="").exists()
    assert services.incidents_auto_close() == 0  # the first start closes nothing at once
