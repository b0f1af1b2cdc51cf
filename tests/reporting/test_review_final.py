"""The Major Incident Review (seed 6.2 "after each major incident, all stakeholders"): drafted when the
major incident is resolved; marking it final sends the Post-Incident Summary, carrying the review's
summary, root cause, lessons learned and action items, to the stakeholders of every affected service and
the Operations Team. Nothing of it goes out at close any more."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from escalation.models import Notification
from incidents import services as incident_services
from incidents.choices import Role
from incidents.exceptions import PermissionDenied, ValidationError
from reporting import services
from reporting.models import ActionItem, MajorIncidentReview
from tests.factories import ServiceFactory, incident_in, make_user

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def ops(db):
    return make_user(Role.OPERATIONS, username="ops-lead", email="ops-lead@lab.example")


@pytest.fixture
def major(manager):
    """An S1 on Ceph (declared major at classification), with a linked incident on the radio telescope,
    resolved one hour after logging."""
    ceph = ServiceFactory(slug="ceph", name="Ceph storage", stakeholder_emails="astro@lab.example")
    radio = ServiceFactory(slug="radio", name="Radio telescope", stakeholder_emails="radio@lab.example")
    with time_machine.travel(T0, tick=False):
        incident = incident_in("investigating", manager=manager, service=ceph, title="Ceph cluster down")
        child = incident_in("logged", manager=manager, service=radio, title="Feed archive unwritable")
        incident_services.incident_update(incident=child, user=manager, data={"parent": incident})
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        incident = incident_services.incident_resolve(
            incident=incident,
            user=manager,
            code="fixed",
            notes="Replaced the failed disk",
            diagnosis="osd.7 down",
            root_cause="The disk failed",
        )
    return incident


def summaries(incident):
    return Notification.objects.filter(incident=incident, template="post_incident_summary")


def complete(review, **changes):
    fields = {"lessons_learned": "Watch SMART counters; alert on reallocated sectors.", **changes}
    for name, value in fields.items():
        setattr(review, name, value)
    review.save()
    ActionItem.objects.create(review=review, description="Add a SMART alert rule", due_date=date(2026, 6, 15))
    return review


def test_resolving_a_major_incident_drafts_its_review(major, manager):
    review = MajorIncidentReview.objects.get(incident=major)
    assert (review.status, review.drafted_at, review.drafted_by) == (
        "draft",
        T0 + timedelta(hours=1),
        manager,
    )
    assert review.root_cause == "The disk failed"  # the investigation on record
    assert review.history.first().history_change_reason == "drafted when the major incident was resolved"


def test_closing_sends_the_resolution_notice_but_no_summary_yet(major, manager, ops):
    incident_services.incident_close(incident=major, user=manager, closure_notes="Verified")
    assert Notification.objects.filter(incident=major, template="resolution_notice").exists()
    assert not summaries(major).exists()
    assert MajorIncidentReview.objects.filter(incident=major).count() == 1


def test_marking_it_final_sends_the_summary_to_all_stakeholders_and_the_operations_team(
    major, manager, ops, settings
):
    settings.SITE_URL = "https://itsm.lab.example"
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        review = complete(MajorIncidentReview.objects.get(incident=major))
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        final = services.review_finalize(review=review, user=manager)
    assert (final.status, final.finalized_at, final.finalized_by) == (
        "final",
        T0 + timedelta(days=2),
        manager,
    )
    assert set(summaries(major).values_list("recipient", flat=True)) == {
        "astro@lab.example",
        "radio@lab.example",  # the linked incident's service is affected too
        "ops-lead@lab.example",
    }
    body = summaries(major).get(recipient="astro@lab.example").body
    for text in (
        "POST-INCIDENT SUMMARY",
        final.summary.splitlines()[0],
        "Root cause:\nThe disk failed",
        "Lessons learned:\nWatch SMART counters",
        "- Add a SMART alert rule (due 2026-06-15)",
    ):
        assert text in body, text
    assert "/admin/" not in body
    assert final.history.first().history_change_reason == "marked final; Post-Incident Summary sent"

    assert services.review_finalize(review=final, user=manager).status == "final"
    assert summaries(major).count() == 3  # once


def test_a_review_is_final_only_when_complete_and_the_incident_resolved(major, manager):
    review = MajorIncidentReview.objects.get(incident=major)
    with pytest.raises(ValidationError) as refused:
        services.review_finalize(review=review, user=manager)
    assert set(refused.value.message_dict) == {"lessons_learned"}
    complete(review)
    incident_services.incident_reopen(incident=major, user=manager, reason="came back")
    with pytest.raises(ValidationError) as refused:
        services.review_finalize(review=review, user=manager)
    assert "a review becomes final once the incident is resolved" in refused.value.message_dict["status"][0]
    review.refresh_from_db()
    assert review.status == "draft" and not summaries(major).exists()


@pytest.mark.parametrize("role", [Role.MANAGEMENT, Role.OPERATIONS, Role.SERVICE_DESK])
def test_only_incident_managers_mark_it_final(major, role):
    review = complete(MajorIncidentReview.objects.get(incident=major))
    with pytest.raises(PermissionDenied):
        services.review_finalize(review=review, user=make_user(role, username="someone"))
    assert not summaries(major).exists()


# --- the admin -----------------------------------------------------------------------------------------


def change_url(review):
    return reverse("admin:reporting_majorincidentreview_change", args=[review.pk])


def form_data(review, **changes):
    data = {
        "status": review.status,
        "summary": review.summary,
        "root_cause": review.root_cause,
        "lessons_learned": review.lessons_learned,
        "what_went_well": review.what_went_well,
        "what_went_badly": review.what_went_badly,
        "action_items-TOTAL_FORMS": "1",
        "action_items-INITIAL_FORMS": "0",
        "action_items-MIN_NUM_FORMS": "0",
        "action_items-MAX_NUM_FORMS": "1000",
        "action_items-0-order": "1",
        "action_items-0-description": "",
    }
    data.update(changes)
    return data


def test_the_admin_marks_it_final_with_the_action_items_of_the_same_submit(client, major, manager, ops):
    review = MajorIncidentReview.objects.get(incident=major)
    client.force_login(manager)
    response = client.post(change_url(review), form_data(review, status="final"))
    assert response.status_code == 200  # no lessons learned yet: said on the field
    assert response.context["adminform"].form.errors["lessons_learned"] == ["Write the lessons learned."]
    assert 'name="status"' in response.content.decode()  # still a draft: the status can be chosen again
    response = client.post(
        change_url(review),
        form_data(
            review,
            status="final",
            lessons_learned="Alert on SMART counters.",
            **{"action_items-0-description": "Add a SMART alert rule"},
        ),
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == "final" and review.finalized_by == manager
    body = summaries(major).get(recipient="ops-lead@lab.example").body
    assert "Alert on SMART counters." in body and "- Add a SMART alert rule" in body
    page = client.get(change_url(review)).content.decode()
    assert 'name="status"' not in page  # a final review stays final
