"""The major-incident review: drafted when a major incident is resolved (through the incident_transitioned
signal, inside the resolve's transaction), and its facts reconstructed from the record. Marking it final
(tests/reporting/test_review_final.py) sends the Post-Incident Summary."""

import pytest

from escalation.models import EscalationEvent, Notification
from reporting import selectors, services
from reporting.models import MajorIncidentReview
from tests.factories import ServiceFactory

from .stories import at, story, t

pytestmark = pytest.mark.django_db


@pytest.fixture
def major(manager):
    """S1 (declared major automatically on classification): detected 09:50, logged 10:00, answered 10:10,
    resolved 12:00, closed 09:00 the next day."""
    service = ServiceFactory(slug="ceph", name="Ceph storage", stakeholder_emails="ops@lab.example")
    return story(
        manager,
        service=service,
        severity="S1",
        title="Ceph cluster down",
        detected=t(10, 3, 9, 50),
        created=t(10, 3, 10),
        steps=(("investigate", t(10, 3, 10, 10)), ("resolve", t(10, 3, 12)), ("close", t(10, 4, 9))),
    )


def finalized(incident, manager):
    """Mark the incident's review final (the day after its closure): the Post-Incident Summary goes out."""
    review = MajorIncidentReview.objects.get(incident=incident)
    review.lessons_learned = "Keep a spare part on site"
    review.save()
    with at(t(10, 5, 9)):
        services.review_finalize(review=review, user=manager)


def test_resolving_a_major_incident_drafts_its_review(major, manager):
    review = MajorIncidentReview.objects.get(incident=major)
    assert review.status == "draft"
    assert review.drafted_by == manager
    assert review.drafted_at == t(10, 3, 12)
    assert review.summary.startswith("S1 major incident on Ceph storage: Ceph cluster down.")
    assert "resolved (fixed) after 2 h 10 min from detection" in review.summary
    assert "Replaced the failed part" in review.summary
    assert (
        review.what_went_well
        == "- First response within its SLA target.\n- Resolution within its SLA target."
    )
    assert "1 escalation(s) fired" in review.what_went_badly
    assert review.history.first().history_change_reason == "drafted when the major incident was resolved"


def test_the_draft_is_made_once(major, manager):
    review = MajorIncidentReview.objects.get(incident=major)
    review.summary = "Edited by the review meeting"
    review.save()
    assert services.review_draft(incident=major, user=manager).summary == "Edited by the review meeting"
    assert MajorIncidentReview.objects.count() == 1


def test_closing_an_ordinary_incident_drafts_nothing(manager):
    story(
        manager,
        severity="S3",
        created=t(10, 5, 9),
        steps=(("investigate", t(10, 5, 9, 10)), ("resolve", t(10, 5, 10)), ("close", t(10, 5, 11))),
    )
    assert not MajorIncidentReview.objects.exists()


def test_durations_and_sla_outcome(major):
    data = selectors.major_incident_review(incident=major)
    assert data["durations"] == {
        "detection_to_logging": 600,
        "logging_to_first_response": 600,
        "first_response_to_resolution": 6600,
        "resolution_to_closure": 21 * 3600,
        "detection_to_resolution": 7800,
        "detection_to_closure": 7800 + 21 * 3600,
    }
    assert data["sla"] == {
        "response": {"due_at": "2026-10-03T10:15:00+00:00", "at": "2026-10-03T10:10:00+00:00", "met": True},
        "resolution": {"due_at": "2026-10-03T14:00:00+00:00", "at": "2026-10-03T12:00:00+00:00", "met": True},
    }


def test_escalations_and_communications(major, manager):
    finalized(major, manager)
    data = selectors.major_incident_review(incident=major)
    assert [e["kind"] for e in data["escalations"]] == ["emergency"]
    assert data["escalations"][0]["fired_at"] == "2026-10-03T10:00:00+00:00"
    assert len(data["communications"]) == Notification.objects.filter(incident=major).count()
    templates = {c["template"] for c in data["communications"]}
    assert {"page", "incident_notification", "resolution_notice", "post_incident_summary"} <= templates
    assert EscalationEvent.objects.filter(incident=major).count() == 1


def test_the_timeline_is_reconstructed_from_every_source_in_time_order(major, manager):
    finalized(major, manager)
    timeline = selectors.major_incident_review(incident=major)["timeline"]
    moments = [entry["at"] for entry in timeline]
    assert moments == sorted(moments)
    assert timeline[0] == {
        "at": "2026-10-03T09:50:00+00:00",
        "source": "incident",
        "kind": "detected",
        "actor": None,
        "text": "Fault detected",
    }
    kinds = [(e["source"], e["kind"]) for e in timeline]
    for expected in [
        ("timeline", "created"),
        ("timeline", "classify"),
        ("timeline", "severity"),
        ("timeline", "escalation"),
        ("timeline", "investigate"),
        ("timeline", "resolve"),
        ("timeline", "close"),
        ("notification", "page"),
        ("notification", "incident_notification"),
        ("notification", "resolution_notice"),
        ("notification", "post_incident_summary"),
        ("history", "change"),
    ]:
        assert expected in kinds, expected
    # The outbox gives one entry per message, not one per recipient; the timeline's own notification
    # events are not repeated.
    assert kinds.count(("notification", "post_incident_summary")) == 1
    assert ("timeline", "notification") not in kinds
    audit = next(e for e in timeline if e["source"] == "history")
    assert audit["text"].startswith("is major: no → yes (major incident declared")
    close = next(e for e in timeline if e["kind"] == "close")
    assert close["text"] == "Resolved → Closed" and close["actor"] == "manager"


def test_the_review_is_rendered_with_the_post_incident_summary_template(major):
    html = services.major_incident_review_report(incident=major, fmt="html", store=False).content.decode()
    assert "Major-incident review (draft)" in html
    assert "Major incident <strong>" in html  # the Post-Incident Summary's own content
    assert "Ceph cluster down" in html
    assert "Fault detected" in html and "Escalations fired" in html and "Communications sent" in html
    markdown = services.major_incident_review_report(incident=major, fmt="md", store=False).content.decode()
    assert "| Detection → logging | 10 min |" in markdown
    assert "## Action items" in markdown


def test_an_open_major_incident_has_facts_but_no_review_yet(manager):
    incident = story(manager, severity="S1", created=t(10, 6, 9), steps=(("investigate", t(10, 6, 9, 5)),))
    with at(t(10, 6, 10)):
        data = selectors.major_incident_review(incident=incident)
    assert data["review"] is None
    assert data["durations"]["logging_to_first_response"] == 300
    assert data["durations"]["first_response_to_resolution"] is None
    assert data["sla"]["response"]["met"] is True
    assert data["sla"]["resolution"]["met"] is None  # the clock still runs: not decided yet
    with at(t(10, 6, 13, 1)):
        assert selectors.major_incident_review(incident=incident)["sla"]["resolution"]["met"] is False
    html = services.major_incident_review_report(incident=incident, fmt="html", store=False).content.decode()
    assert "The review is drafted when the major incident is resolved." in html
