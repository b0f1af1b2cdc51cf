"""The escalation part of `load_demo`: rotations for every tier, the Incident Managers and the Security
Team, and the replayed months of history leave no message waiting to be sent."""

import pytest
from django.core.management import call_command

from escalation.models import Notification
from escalation.selectors import on_call_now


@pytest.mark.django_db
def test_demo_has_someone_on_call_everywhere_and_sends_no_history(reference_data):
    call_command("load_demo", incidents=30, quiet=True)
    current = on_call_now()
    assert {c.rotation.kind for c in current} == {
        "tier1",
        "tier2",
        "tier3",
        "external",
        "incident_manager",
        "security",
    }
    assert all(c.user is not None for c in current)
    assert Notification.objects.exists()
    assert not Notification.objects.filter(status="pending").exists()
    assert Notification.objects.filter(status="skipped").count() == Notification.objects.count()

    call_command("load_demo", incidents=30, quiet=True)  # idempotent
    assert len(on_call_now()) == 6


@pytest.mark.django_db
def test_demo_leaves_nothing_due_for_the_first_start(reference_data):
    """Issue #9: the first sweep after `load_demo` (and the first reminder run) fires nothing, and every
    escalation of the history is on record at the moment it fell due, not in a burst at load time."""
    from django.db.models import F

    from escalation.models import EscalationEvent
    from escalation.services import send_incident_digests, send_status_update_reminders, sweep
    from incidents.choices import OPEN_STATES

    call_command("load_demo", incidents=60, quiet=True)

    assert sweep() == 0
    assert send_status_update_reminders() == 0
    assert send_incident_digests() == 0  # what waited for the digest went into the history's last one
    escalations = EscalationEvent.objects.filter(kind="hierarchical")
    assert escalations.filter(incident__state__in=OPEN_STATES).exists()  # the story has open ones
    assert not escalations.exclude(fired_at=F("due_at")).exists()
