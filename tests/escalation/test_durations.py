"""Escalation's durations and times as people read them (issue #9, item 3): step offsets and shift lengths
as "30 min" and "7 days" in the admin, the timeline and the e-mails; e-mail times in `TIME_ZONE` with the
zone's abbreviation, whichever user's request sends them, and in the recipient's own zone where they chose
one."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from escalation.choices import Clock
from escalation.models import EscalationPolicy, EscalationStep
from escalation.services.notifications import render
from incidents.choices import State
from tests.factories import incident_in

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 23:00 in Berlin


def test_step_offsets_read_as_durations_in_the_policy_list(client, manager):
    policy = EscalationPolicy.objects.get(severity="S3")
    EscalationStep.objects.create(
        policy=policy, order=99, clock=Clock.RESOLUTION, offset=timedelta(minutes=90), level=1
    )
    client.force_login(manager)
    page = client.get(reverse("admin:escalation_escalationpolicy_changelist")).content.decode()
    assert "resolution +1 h 30 min → L1" in page
    assert "1:30:00" not in page


def test_escalation_mail_says_the_offset_and_zoned_due_times(manager, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    with time_machine.travel(T0, tick=False):
        incident = incident_in(State.CLASSIFIED, manager=manager)
    step = EscalationStep(clock=Clock.RESPONSE, offset=timedelta(minutes=30), level=1)
    with timezone.override("Asia/Tokyo"):  # a Tokyo user's request sends it: still the site's zone
        _, text, html = render(template="escalation", incident=incident, extra={"level": 1, "step": step})
    assert "30 min after logging" in text and "30 min after logging" in html
    assert "Response due:   2026-03-02 23:15 CET" in text
    assert "Resolution due: 2026-03-03 03:00 CET" in text
    assert "resolution due 2026-03-03 03:00 CET" in html
    assert "JST" not in text


def test_shift_lengths_read_as_durations(client, manager):
    from escalation.models import Rotation

    Rotation.objects.create(name="Weekly", kind="tier1", shift_length=timedelta(days=7))
    client.force_login(manager)
    page = client.get(reverse("admin:escalation_rotation_changelist")).content.decode()
    assert ">7 days</td>" in page
    assert "7 days, 0:00:00" not in page


def test_each_recipient_reads_the_times_in_their_own_zone(manager, settings):
    from escalation.services.notifications import notify
    from incidents.choices import Role
    from incidents.models import UserPreference
    from tests.factories import make_user

    settings.TIME_ZONE = "Europe/Berlin"
    with time_machine.travel(T0, tick=False):
        incident = incident_in(State.CLASSIFIED, manager=manager)
        tokyo = make_user(Role.SYSADMINS, username="kenji", email="kenji@lab.example")
        berlin = make_user(Role.SYSADMINS, username="anna", email="anna@lab.example")
        UserPreference.objects.create(user=tokyo, time_zone="Asia/Tokyo")
        sent = notify(
            incident=incident,
            template="escalation",
            users=[tokyo, berlin],
            emails=["stakeholder@lab.example"],
            extra={"level": 1, "step": EscalationStep(clock=Clock.RESPONSE, offset=timedelta(minutes=30))},
        )
    bodies = {n.recipient: n.body for n in sent if n.channel == "email"}
    assert "Response due:   2026-03-03 07:15 JST" in bodies["kenji@lab.example"]
    assert "CET" not in bodies["kenji@lab.example"]
    for address in ("anna@lab.example", "stakeholder@lab.example"):
        assert "Response due:   2026-03-02 23:15 CET" in bodies[address]
