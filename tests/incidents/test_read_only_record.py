"""Nothing lost, nothing silently rewritten: edits are saved with the transition, resolved / closed /
cancelled incidents are read-only except for comments, and an Incident Manager corrects such a record only
through the audited *Correct record* (`services.incident_correct`)."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.choices import EventKind, State
from incidents.exceptions import Conflict, PermissionDenied, ValidationError
from incidents.models import Comment
from tests.factories import incident_in
from tests.incidents.admin_forms import change_form_data

pytestmark = pytest.mark.django_db

READ_ONLY = [State.RESOLVED, State.CLOSED, State.CANCELLED]


def change_url(incident):
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def correct_url(incident):
    return reverse("admin:incidents_incident_correct", args=[incident.pk])


def transition_url(incident, name):
    return reverse("admin:incidents_incident_transition", args=[incident.pk, name])


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def a_day_earlier(incident):
    return incident.detected_at - timedelta(days=1)


# --- edits are saved with the transition -----------------------------------------------------------------


def test_an_edited_description_survives_pressing_a_transition_button(client, service_desk, manager):
    incident = incident_in(State.CLASSIFIED, manager=manager)
    client.force_login(service_desk)
    page = client.get(change_url(incident))
    content = page.content.decode()
    # The buttons submit the change form (and Enter in a field still saves rather than investigating).
    assert re.search(r'<button type="submit"[^>]*name="_fsm_transition_to" value="investigate"', content)
    assert content.index('name="_save"') < content.index('value="investigate"')

    data = change_form_data(
        page, description="Typed before pressing Investigate", _fsm_transition_to="investigate"
    )
    response = client.post(change_url(incident), data, follow=True)
    assert response.redirect_chain == [(transition_url(incident, "investigate"), 302)]
    assert any("Your edits were saved first (description)" in m for m in messages_of(response))
    incident.refresh_from_db()
    assert incident.description == "Typed before pressing Investigate"
    assert incident.state == State.CLASSIFIED  # the transition waits for its own form
    assert incident.history.first().history_change_reason == "edited: description"


def test_an_invalid_edit_stops_the_transition_and_keeps_the_text(client, service_desk, manager):
    incident = incident_in(State.CLASSIFIED, manager=manager)
    client.force_login(service_desk)
    page = client.get(change_url(incident))
    data = change_form_data(page, title="", description="Half-typed notes", _fsm_transition_to="investigate")
    response = client.post(change_url(incident), data)
    assert response.status_code == 200
    assert "title" in response.context["adminform"].form.errors
    assert "Half-typed notes" in response.content.decode()


def test_the_page_warns_before_leaving_with_unsaved_edits(client, service_desk, manager):
    client.force_login(service_desk)
    page = client.get(change_url(incident_in(State.CLASSIFIED, manager=manager))).content.decode()
    assert "incidents/unsaved_guard.js" in page


# --- read-only once resolved, closed or cancelled --------------------------------------------------------


@pytest.mark.parametrize("state", READ_ONLY)
def test_the_service_refuses_edits_of_a_finished_incident(state, manager):
    incident = incident_in(state, manager=manager)
    with pytest.raises(Conflict, match="read-only"):
        services.incident_update(
            incident=incident, user=manager, data={"detected_at": a_day_earlier(incident)}
        )
    before = incident.detected_at
    incident.refresh_from_db()
    assert incident.detected_at == before


def test_the_api_answers_409_for_an_edit_of_a_closed_incident(api_as, service_desk, manager):
    incident = incident_in(State.CLOSED, manager=manager)
    response = api_as(service_desk).patch(
        f"/api/v1/incidents/{incident.number}/",
        {"detected_at": a_day_earlier(incident).isoformat()},
        format="json",
    )
    assert response.status_code == 409
    assert "read-only" in response.json()["detail"]


@pytest.mark.parametrize("state", READ_ONLY)
def test_the_admin_page_of_a_finished_incident_is_read_only(client, state, service_desk, manager):
    incident = incident_in(state, manager=manager)
    client.force_login(service_desk)
    page = client.get(change_url(incident))
    content = page.content.decode()
    assert page.status_code == 200
    assert 'name="_save"' not in content
    assert not page.context["adminform"].form.fields  # every field is shown read-only
    assert 'id="add-comment"' in content  # comments are still possible
    before = incident.detected_at
    later = timezone.localtime(a_day_earlier(incident))
    response = client.post(
        change_url(incident),
        {"title": "renamed", "detected_at_0": f"{later:%Y-%m-%d}", "detected_at_1": f"{later:%H:%M:%S}"},
    )
    assert response.status_code == 403
    incident.refresh_from_db()
    assert (incident.title, incident.detected_at) != ("renamed", later) and incident.detected_at == before


def test_a_closed_incident_still_takes_comments(client, service_desk, manager):
    incident = incident_in(State.CLOSED, manager=manager)
    client.force_login(service_desk)
    url = reverse("admin:incidents_incident_comment", args=[incident.pk])
    response = client.post(url, {"body": "User confirmed again", "visibility": "internal"}, follow=True)
    assert messages_of(response) == ["Comment added."]
    assert Comment.objects.filter(incident=incident, note="User confirmed again").exists()


def test_transitions_of_a_resolved_incident_stay_links(client, manager):
    """Its form cannot be posted (read-only), so its buttons open the transition forms directly."""
    incident = incident_in(State.RESOLVED, manager=manager)
    client.force_login(manager)
    content = client.get(change_url(incident)).content.decode()
    assert f'href="{transition_url(incident, "close")}"' in content
    assert 'name="_fsm_transition_to"' not in content


# --- Correct record --------------------------------------------------------------------------------------


def test_an_incident_manager_corrects_a_closed_record_with_a_reason(manager):
    incident = incident_in(State.CLOSED, manager=manager)
    earlier = a_day_earlier(incident)
    incident = services.incident_correct(
        incident=incident,
        user=manager,
        data={"detected_at": earlier},
        reason="Monitoring saw it a day earlier",
    )
    assert incident.detected_at == earlier
    assert incident.state == State.CLOSED
    latest = incident.history.first()
    assert latest.history_user == manager
    assert latest.history_change_reason == "corrected: detected_at (Monitoring saw it a day earlier)"
    event = incident.timeline.get(kind=EventKind.UPDATE)
    assert event.note == "Record corrected (detected_at): Monitoring saw it a day earlier"
    assert event.data == {
        "fields": ["detected_at"],
        "correction": True,
        "reason": "Monitoring saw it a day earlier",
    }
    assert event.visibility == "internal"


def test_correcting_needs_an_incident_manager_a_reason_and_a_change(service_desk, management, manager):
    incident = incident_in(State.CLOSED, manager=manager)
    for user in (service_desk, management):
        with pytest.raises(PermissionDenied):
            services.incident_correct(incident=incident, user=user, data={"title": "x"}, reason="typo")
    with pytest.raises(ValidationError) as err:
        services.incident_correct(incident=incident, user=manager, data={"title": "Fixed"}, reason=" ")
    assert set(err.value.message_dict) == {"reason"}
    with pytest.raises(ValidationError) as err:
        services.incident_correct(
            incident=incident, user=manager, data={"title": incident.title}, reason="no-op"
        )
    assert err.value.message_dict == {"reason": ["Nothing to correct: no field was changed."]}


def test_corrections_keep_the_limits_of_edits(manager):
    incident = incident_in(State.RESOLVED, manager=manager)
    with pytest.raises(ValidationError) as err:
        services.incident_correct(
            incident=incident,
            user=manager,
            data={"detected_at": incident.created_at + timedelta(hours=1), "state": "investigating"},
            reason="test",
        )
    assert set(err.value.message_dict) == {"state"}
    with pytest.raises(ValidationError) as err:
        services.incident_correct(
            incident=incident,
            user=manager,
            data={"detected_at": incident.created_at + timedelta(hours=1)},
            reason="test",
        )
    assert err.value.message_dict == {"detected_at": ["Detection cannot be later than logging."]}


def test_open_incidents_are_edited_not_corrected(manager):
    incident = incident_in(State.INVESTIGATING, manager=manager)
    with pytest.raises(Conflict, match="edit it on its page"):
        services.incident_correct(incident=incident, user=manager, data={"title": "x"}, reason="typo")


def test_correct_record_in_the_admin(client, service_desk, management, manager):
    incident = incident_in(State.CLOSED, manager=manager)
    for user in (service_desk, management):
        client.force_login(user)
        assert 'id="correct-record"' not in client.get(change_url(incident)).content.decode()
        assert client.get(correct_url(incident)).status_code == 403
        assert client.post(correct_url(incident), {"title": "x", "reason": "y"}).status_code == 403

    client.force_login(manager)
    page = client.get(change_url(incident)).content.decode()
    assert f'href="{correct_url(incident)}"' in page
    form_page = client.get(correct_url(incident))
    assert form_page.status_code == 200
    assert "reason" in form_page.context["form"].fields
    data = change_form_data(form_page)

    response = client.post(correct_url(incident), {**data, "title": "Ceph OSD.12 down", "reason": ""})
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}

    response = client.post(
        correct_url(incident), {**data, "title": "Ceph OSD.12 down", "reason": "Wrong OSD named"}, follow=True
    )
    assert response.redirect_chain == [(change_url(incident), 302)]
    assert messages_of(response) == [f"{incident.number}: record corrected (title)."]
    incident.refresh_from_db()
    assert incident.title == "Ceph OSD.12 down"
    assert incident.history.first().history_change_reason == "corrected: title (Wrong OSD named)"


def test_correct_record_of_an_open_incident_leads_back_to_its_page(client, manager):
    incident = incident_in(State.INVESTIGATING, manager=manager)
    client.force_login(manager)
    assert 'id="correct-record"' not in client.get(change_url(incident)).content.decode()
    response = client.get(correct_url(incident), follow=True)
    assert response.redirect_chain == [(change_url(incident), 302)]
