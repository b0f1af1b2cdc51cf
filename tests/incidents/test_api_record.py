"""An incident's record through the API: comments, the timeline and who sees internal notes, the
checklist and its ticks, the audit history."""

import pytest

from incidents.models import ChecklistItem, TimelineEvent
from tests.factories import incident_in

pytestmark = pytest.mark.django_db


def path(incident, sub):
    return f"/api/v1/incidents/{incident.number}/{sub}/"


def test_comment_is_added_to_the_timeline(api_as, sysadmin):
    incident = incident_in("investigating")
    client = api_as(sysadmin)
    response = client.post(
        path(incident, "comments"),
        {"body": "Checked the SMART data", "visibility": "internal"},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["kind"] == "comment" and response.data["actor"] == "sysadmin"
    event = TimelineEvent.objects.get(pk=response.data["id"])
    assert event.incident == incident and event.note == "Checked the SMART data"
    assert event.visibility == "internal"
    assert client.get(path(incident, "timeline")).data[-1]["id"] == event.pk


def test_comment_input_errors(api_as, sysadmin):
    incident = incident_in("investigating")
    client = api_as(sysadmin)
    response = client.post(path(incident, "comments"), {"visibility": "gossip"}, format="json")
    assert response.status_code == 400
    assert set(response.data["errors"]) == {"body", "visibility"}


def test_reporter_sees_only_public_entries_and_may_add_public_updates(api_as, outsider, sysadmin):
    incident = incident_in("investigating", reporter=outsider)
    staff = api_as(sysadmin)
    staff.post(path(incident, "comments"), {"body": "internal: suspect the RAID card"}, format="json")
    staff.post(path(incident, "comments"), {"body": "We are on it", "visibility": "public"}, format="json")

    reporter = api_as(outsider)
    assert reporter.post(path(incident, "comments"), {"body": "internal?"}, format="json").status_code == 403
    response = reporter.post(
        path(incident, "comments"), {"body": "Thanks!", "visibility": "public"}, format="json"
    )
    assert response.status_code == 201

    seen = reporter.get(path(incident, "timeline")).data
    assert [e["note"] for e in seen if e["kind"] == "comment"] == ["We are on it", "Thanks!"]
    assert [e["transition"] for e in seen if e["kind"] == "transition"] == ["investigate"]
    assert seen[0]["kind"] == "created"
    assert all(e["visibility"] == "public" for e in seen)
    everything = staff.get(path(incident, "timeline")).data
    notes = [e["note"] for e in everything]
    assert "internal: suspect the RAID card" in notes and len(everything) > len(seen)
    times = [e["created_at"] for e in everything]
    assert times == sorted(times)


def test_history_is_for_support_roles_not_reporters(api_as, outsider, management):
    incident = incident_in("classified", reporter=outsider)
    response = api_as(outsider).get(path(incident, "history"))
    assert response.status_code == 403
    assert api_as(management).get(path(incident, "history")).status_code == 200


def test_history_shows_field_changes_by_their_api_names(api_as, service_desk, sysadmin):
    incident = incident_in("classified")
    api_as(service_desk).patch(
        f"/api/v1/incidents/{incident.number}/", {"assignee": "sysadmin", "title": "New title"}, format="json"
    )
    latest = api_as(service_desk).get(path(incident, "history")).data[0]
    assert latest["user"] == "desk"
    assert latest["type"] == "changed"
    changes = {c["field"]: (c["old"], c["new"]) for c in latest["changes"]}
    assert changes == {
        "assignee": (None, "sysadmin"),
        "title": ("Ceph OSD down on pve-03", "New title"),
        "tier": ("tier1", "tier2"),  # the incident follows its tier-2 assignee
    }


def test_checklist_tick_records_who_and_when(api_as, sysadmin):
    incident = incident_in("investigating", incident_type="host_failure")
    client = api_as(sysadmin)
    steps = client.get(path(incident, "checklist")).data
    assert len(steps) == 5 and not any(s["done"] for s in steps)
    step = steps[1]
    response = client.post(path(incident, f"checklist/{step['id']}/done"))
    assert response.status_code == 200, response.data
    assert response.data["done"] is True and response.data["done_by"] == "sysadmin"
    item = ChecklistItem.objects.get(pk=step["id"])
    assert item.done_by == sysadmin and item.done_at is not None
    event = TimelineEvent.objects.filter(incident=incident, kind="checklist").get()
    assert event.data == {"step_id": item.pk} and event.actor == sysadmin
    # Ticking again changes nothing.
    again = client.post(path(incident, f"checklist/{step['id']}/done"))
    assert again.status_code == 200 and again.data["done_at"] == response.data["done_at"]
    assert TimelineEvent.objects.filter(incident=incident, kind="checklist").count() == 1


def test_checklist_step_of_another_incident_is_404(api_as, sysadmin):
    incident = incident_in("investigating")
    other = incident_in("investigating")
    foreign = other.checklist.first()
    response = api_as(sysadmin).post(path(incident, f"checklist/{foreign.pk}/done"))
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.done_at is None


def test_checklist_tick_needs_a_support_role(api_as, management):
    incident = incident_in("investigating")
    step = incident.checklist.first()
    response = api_as(management).post(path(incident, f"checklist/{step.pk}/done"))
    assert response.status_code == 403


def test_checklist_tick_on_a_closed_incident_is_409(api_as, sysadmin):
    incident = incident_in("closed")
    step = incident.checklist.first()
    response = api_as(sysadmin).post(path(incident, f"checklist/{step.pk}/done"))
    assert response.status_code == 409
    assert response.data["state"] == "closed"
