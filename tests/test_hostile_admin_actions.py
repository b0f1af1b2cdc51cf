"""A changelist action whose selection is not made of ids (a forged or mangled POST) answers with a
message, never a 500, on every model admin, the libraries' included."""

import pytest
from django.urls import reverse

from incidents.choices import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    ("admin:escalation_notification_changelist", "retry_delivery"),
    ("admin:incidents_incident_changelist", "delete_selected"),
    ("admin:axes_accessattempt_changelist", "delete_selected"),
]


@pytest.mark.parametrize(("changelist", "action"), CHANGELISTS)
def test_an_action_on_rows_that_are_not_ids_is_a_message(client, reference_data, changelist, action):
    client.force_login(make_user(Role.INCIDENT_MANAGERS, username="manager"))
    url = reverse(changelist)
    for bad in ("abc", "1\x00", "9" * 40):
        response = client.post(url, {"action": action, "_selected_action": [bad]}, follow=True)
        assert response.status_code in (200, 403), bad
