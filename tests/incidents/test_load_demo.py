"""`manage.py load_demo`: demo accounts per role, the service catalogue and a history in every state, written
through the services (timeline, history users, SLA clocks) and safe to run again."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import F
from django.utils import timezone

from incidents import demo
from incidents.choices import EventKind, Role, State
from incidents.demo_catalogue import SERVICES
from incidents.models import Incident, Service, TimelineEvent
from incidents.services.closure import AUTO_CLOSE_REASON

User = get_user_model()

ROLE_USERS = {
    "desk": Role.SERVICE_DESK,
    "sysadmin": Role.SYSADMINS,
    "expert": Role.EXPERTS,
    "vendor": Role.EXTERNAL,
    "manager": Role.INCIDENT_MANAGERS,
    "director": Role.MANAGEMENT,
    "security": Role.SECURITY_TEAM,
    "ops": Role.OPERATIONS,
}


@pytest.fixture
def loaded(reference_data):
    call_command("load_demo", incidents=30, quiet=True)


def test_one_staff_user_per_role_in_its_group(loaded):
    for username, role in ROLE_USERS.items():
        user = User.objects.get(username=username)
        assert user.is_staff
        assert user.groups.filter(name=role).exists(), username
        assert user.check_password(demo.DEFAULT_PASSWORD)
    assert User.objects.get(username="admin").is_superuser
    assert set(Role.ALL) <= set(User.objects.values_list("groups__name", flat=True))


def test_services_of_the_lab_exist(loaded):
    assert set(Service.objects.values_list("slug", flat=True)) >= {s.slug for s in SERVICES}
    assert not Service.objects.filter(slug__in=[s.slug for s in SERVICES], owner_group=None).exists()


def test_history_covers_every_state_through_the_services(loaded):
    incidents = Incident.objects.all()
    assert incidents.count() == 30
    assert set(incidents.values_list("state", flat=True)) == set(State.values)
    for incident in incidents:
        first = incident.timeline.order_by("created_at", "pk").first()
        assert first.kind == EventKind.CREATED, incident.number
        assert first.created_at == incident.created_at
    now = timezone.now()
    assert not incidents.filter(created_at__gt=now).exists()
    assert not TimelineEvent.objects.filter(created_at__gt=now).exists()
    # every change names who made it, but the auto-close, which the process makes itself
    assert (
        not Incident.history.filter(history_user=None)
        .exclude(history_change_reason=AUTO_CLOSE_REASON)
        .exists()
    )
    assert not incidents.filter(detected_at__gt=F("created_at")).exists()
    closed = incidents.filter(state=State.CLOSED)
    assert closed.exists()
    assert not closed.filter(resolved_at__gt=F("closed_at")).exists()
    assert not closed.filter(resolved_at=None).exists()
    # classified incidents carry SLA clocks computed from logging time
    assert (
        not incidents.exclude(state__in=[State.LOGGED, State.CANCELLED]).filter(response_due_at=None).exists()
    )


def test_second_run_adds_no_incidents(loaded):
    numbers = set(Incident.objects.values_list("number", flat=True))
    call_command("load_demo", incidents=30, quiet=True)
    assert set(Incident.objects.values_list("number", flat=True)) == numbers
    assert User.objects.filter(username__in=ROLE_USERS).count() == len(ROLE_USERS)


def test_logins_table_names_every_role_and_a_token(reference_data, capsys):
    call_command("load_demo", incidents=0)
    out = capsys.readouterr().out
    for username, role in ROLE_USERS.items():
        line = next(line for line in out.splitlines() if line.startswith(username + " "))
        assert role in line and demo.DEFAULT_PASSWORD in line
        assert len(line.split()[-1]) == 40  # the API token
    assert not Incident.objects.exists()


@pytest.mark.parametrize("count", [-5, 10**6])
def test_bad_incident_count_is_a_command_error(db, count):
    with pytest.raises(CommandError, match="--incidents"):
        call_command("load_demo", incidents=count, quiet=True)


def test_the_demo_prometheus_source_takes_alerts_with_the_printed_token(reference_data, capsys):
    from incidents.alerts import alert_source_authenticate

    call_command("load_demo", incidents=0)
    line = next(line for line in capsys.readouterr().out.splitlines() if "Alertmanager source" in line)
    token = line.split("Bearer ")[1].split("'")[0]
    assert alert_source_authenticate(token).slug == "prometheus"
    call_command("load_demo", incidents=0)
    assert "Alertmanager source" not in capsys.readouterr().out  # the token is never shown twice


def test_services_went_into_operation_before_their_history(loaded):
    catalogue = {s.slug: s.in_service_since for s in SERVICES}
    stored = dict(Service.objects.filter(slug__in=catalogue).values_list("slug", "in_service_since"))
    assert stored == catalogue
    history_start = min(Incident.objects.values_list("detected_at", flat=True))
    assert max(catalogue.values()) < timezone.localtime(history_start).date()
