"""The benchmark generator (bench/generate.py) writes incidents the database accepts (every check constraint
holds, since COPY goes through them) and the application can show: the admin list, the API list and
detail, the timeline and the history work on them."""

import importlib.util
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone

from escalation.models import EscalationEvent, IncidentEscalation
from incidents.choices import OPEN_STATES, State
from incidents.models import Incident, TimelineEvent

pytestmark = pytest.mark.django_db


def load_generator():
    path = Path(__file__).resolve().parent.parent / "bench" / "generate.py"
    spec = importlib.util.spec_from_file_location("bench_generate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_incidents_are_consistent_and_served(postgres, reference_data, client):
    generator = load_generator()
    generator.generate(n=400, seed=3, force=False, open_count=60, threaded=False)

    assert Incident.objects.count() == 400
    states = dict(Incident.objects.values_list("state").annotate(n=Count("pk")))
    assert states[State.CLOSED] > 200
    assert set(OPEN_STATES) <= set(states)
    # one history row and one timeline event per change: logging and each transition
    for incident in Incident.objects.order_by("pk")[:20]:
        changes = incident.history.count()
        assert changes >= 1
        assert TimelineEvent.objects.filter(incident=incident).count() == changes
        assert incident.history.earliest("history_date").state == State.LOGGED
        assert incident.history.latest("history_date").state == incident.state
    assert EscalationEvent.objects.exists()
    # nothing is due after loading: every schedule lies ahead
    schedules = IncidentEscalation.objects.all()
    assert schedules.exists()
    assert not schedules.filter(next_escalation_at__lte=timezone.now()).exists()

    # a second run tops up instead of starting again
    generator.generate(n=450, seed=3, force=False, open_count=60, threaded=False)
    assert Incident.objects.count() == 450
    assert Incident.objects.values("number").distinct().count() == 450

    client.force_login(get_user_model().objects.get(username="manager"))
    assert client.get("/admin/incidents/incident/").status_code == 200
    assert client.get("/admin/incidents/incident/?state=all&q=unreachable").status_code == 200
    assert client.get("/api/v1/incidents/").status_code == 200
    number = Incident.objects.filter(state=State.CLOSED).latest("created_at").number
    assert client.get(f"/api/v1/incidents/{number}/").status_code == 200
    assert client.get(f"/api/v1/incidents/{number}/timeline/").status_code == 200


def test_refuses_a_database_with_other_incidents(postgres, reference_data):
    from tests.factories import incident_in

    incident_in(State.LOGGED)
    with pytest.raises(SystemExit, match="did not write"):
        load_generator().generate(n=10, seed=1, force=False, open_count=60, threaded=False)
