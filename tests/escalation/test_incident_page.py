"""What escalation adds to the incident page: assignee pickers that say who is on call (through the
incidents app's `hooks`), action pages that answer 403 before a read-only role fills them in, the message
preview's HTML, and the MAJOR badge with a link to the emergency page."""

import html
import re
from datetime import date, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from escalation import services
from escalation.models import EscalationEvent, Rotation, RotationMember
from incidents import hooks
from incidents.choices import Role, State
from tests.factories import incident_in, make_user

pytestmark = pytest.mark.django_db


def incident_url(incident, name="change"):
    return reverse(f"admin:incidents_incident_{name}", args=[incident.pk])


@pytest.fixture
def sam(db):
    """A System Administrator on call now."""
    user = make_user(Role.SYSADMINS, username="sam", first_name="Sam", last_name="Mills")
    rotation = Rotation.objects.create(
        name="Sysadmins on call",
        kind="tier2",
        shift_length=timedelta(days=7),
        handoff_time=time(9, 0),
        time_zone="UTC",
        start_date=date(2020, 1, 6),
    )
    RotationMember.objects.create(rotation=rotation, user=user, order=0)
    return user


def choice_labels(field):
    return {label for value, label in field.choices if value}


def test_assignee_pickers_show_full_name_tier_and_on_call(client, manager, sam):
    make_user(Role.EXPERTS, username="eve", first_name="Eve", last_name="Stone")
    make_user(username="walk-in", is_staff=False)  # a reporter: not someone to assign
    assert sam.pk in hooks.on_call_user_ids()

    client.force_login(manager)
    incident = incident_in(State.CLASSIFIED, manager=manager)
    form = client.get(reverse("admin:incidents_incident_transition", args=[incident.pk, "investigate"]))
    labels = choice_labels(form.context["form"].fields["assignee"])
    assert "Sam Mills (sam) · Tier 2 · on call" in labels
    assert "Eve Stone (eve) · Tier 3" in labels
    assert "manager · Incident Managers" in labels
    assert not any("walk-in" in label for label in labels)

    # The edit form's picker too, and it offers only people who may work on the incident.
    page = client.get(incident_url(incident))
    labels = choice_labels(page.context["adminform"].form.fields["assignee"])
    assert "Sam Mills (sam) · Tier 2 · on call" in labels
    assert not any("walk-in" in label for label in labels)


def test_picker_queries_do_not_grow_with_people(client, manager):
    incident = incident_in(State.CLASSIFIED, manager=manager)
    url = reverse("admin:incidents_incident_transition", args=[incident.pk, "investigate"])
    client.force_login(manager)
    client.get(url)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for n in range(15):
        make_user(Role.SYSADMINS, username=f"sa{n}")
    assert queries() == few


@pytest.mark.parametrize("name", ["escalate", "major", "status_update"])
def test_read_only_roles_get_403_on_action_forms(client, manager, management, name):
    incident = incident_in(State.INVESTIGATING, manager=manager)
    client.force_login(management)
    assert client.get(incident_url(incident, name)).status_code == 403
    assert client.post(incident_url(incident, name), {"reason": "x", "message": "x"}).status_code == 403
    assert client.get(incident_url(incident, "preview")).status_code == 200  # reading is fine


def test_preview_puts_the_html_escaped_into_srcdoc(client, manager):
    incident = incident_in(State.INVESTIGATING, manager=manager)
    client.force_login(manager)
    response = client.get(incident_url(incident, "preview"), {"template": "incident_notification"})
    page = response.content.decode()
    srcdoc = re.search(r'<iframe id="preview-html" sandbox srcdoc="([^"]*)"', page).group(1)
    assert srcdoc.startswith("&lt;") and "<" not in srcdoc
    assert html.unescape(srcdoc) == response.context["html"]
    assert incident.number in html.unescape(srcdoc)


def test_major_badge_and_paging_link_in_the_header(client, manager, service_desk):
    incident = incident_in(State.INVESTIGATING, manager=manager, urgency="low", impact="low")
    client.force_login(service_desk)
    page = client.get(incident_url(incident)).content.decode()
    assert "itsm-major" not in page and 'id="major-paging"' not in page

    services.declare_major(incident=incident, user=manager, reason="cluster down")
    paging = EscalationEvent.objects.get(incident=incident, kind="emergency")
    page = client.get(incident_url(incident)).content.decode()
    header = page[page.index('class="itsm-bar"') : page.index('id="transitions"')]
    assert ">MAJOR</span>" in header
    link = reverse("admin:escalation_escalationevent_change", args=[paging.pk])
    assert f'id="major-paging" href="{link}"' in header
    assert timezone.localtime(paging.fired_at).strftime("%H:%M") in header


def test_vendors_see_the_badge_but_no_escalation_record(client, manager):
    vendor = make_user(Role.EXTERNAL, username="vendor")
    incident = incident_in(State.INVESTIGATING, manager=manager, urgency="low", impact="low")
    services.declare_major(incident=incident, user=manager, reason="cluster down")
    services.escalate_tier(incident=incident, user=manager, reason="vendor", tier="external")
    client.force_login(vendor)
    page = client.get(incident_url(incident)).content.decode()
    assert ">MAJOR</span>" in page and 'id="major-paging"' not in page
