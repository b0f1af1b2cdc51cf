"""Who is on call is everyone's to know; how to reach them by e-mail is for the people who work incidents.
`GET /api/v1/oncall/` gives names and tiers to any signed-in account and e-mail addresses only to the support
tiers, the Security Team and the Incident Managers (`incidents.permissions.is_support_role`)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from escalation.models import Rotation, RotationMember
from incidents.choices import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 5, 5, 10, tzinfo=UTC)


@pytest.fixture
def rotation(db):
    rotation = Rotation.objects.create(
        name="Sysadmins on call",
        kind="tier2",
        shift_length=timedelta(days=7),
        handoff_time=time(9, 0),
        time_zone="UTC",
        start_date=date(2026, 5, 4),
    )
    RotationMember.objects.create(
        rotation=rotation, user=make_user(Role.SYSADMINS, username="ana", email="ana@lab.example"), order=0
    )
    return rotation


def on_call(client) -> list[dict]:
    with time_machine.travel(MOMENT, tick=False):
        response = client.get("/api/v1/oncall/")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(
    ("roles", "sees_email"),
    [
        ((Role.SERVICE_DESK,), True),
        ((Role.SYSADMINS,), True),
        ((Role.EXPERTS,), True),
        ((Role.EXTERNAL,), True),
        ((Role.SECURITY_TEAM,), True),
        ((Role.INCIDENT_MANAGERS,), True),
        ((Role.MANAGEMENT,), False),  # reads reports and incidents; has no need to mail the on-call person
        ((), False),  # signed in, no role
    ],
)
def test_names_and_tiers_for_everyone_email_addresses_for_support_roles(api_as, rotation, roles, sees_email):
    caller = make_user(*roles, username="caller", is_staff=False)
    [row] = on_call(api_as(caller))
    assert (row["rotation"], row["kind"], row["user"]) == ("Sysadmins on call", "tier2", "ana")
    assert ("email" in row) is sees_email
    if sees_email:
        assert row["email"] == "ana@lab.example"
    else:
        assert "ana@lab.example" not in str(row)
