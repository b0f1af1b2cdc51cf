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
