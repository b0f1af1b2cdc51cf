"""`export_incidents --user` writes only what that account may see (the one visibility rule)."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from incidents import services
from incidents.choices import Role
from tests.factories import ServiceFactory, make_user

pytestmark = pytest.mark.django_db


def test_export_for_a_user_leaves_out_what_they_may_not_see(reference_data, manager):
    service = ServiceFactory(slug="login-node")
    ordinary = services.incident_create(user=manager, title="Login node slow", service=service)
    breach = services.incident_create(user=manager, title="Rootkit", service=service, incident_type="malware")
    make_user(Role.SYSADMINS, username="admin-on-call")
    today = timezone.localdate()
    days = {"start": str(today - timedelta(days=1)), "end": str(today + timedelta(days=1))}

    everything, limited = io.StringIO(), io.StringIO()
    call_command("export_incidents", **days, stdout=everything)
    call_command("export_incidents", **days, user="admin-on-call", stdout=limited)
    assert breach.number in everything.getvalue() and ordinary.number in everything.getvalue()
    assert ordinary.number in limited.getvalue() and breach.number not in limited.getvalue()

    with pytest.raises(CommandError, match="No active account 'nobody'"):
        call_command("export_incidents", **days, user="nobody", stdout=io.StringIO())
