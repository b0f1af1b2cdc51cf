"""Durations as people write them (issue #9, item 3): "4 h", "15 min", "1 day", "3 days 2 h", one helper
(`incidents.formatting`) for the admin, the forms, the e-mails and the reports, and the countdown script
writing them the same way."""

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from incidents.choices import State
from incidents.formatting import exact_duration, human_duration, parse_human_duration
from incidents.models import SlaPolicy
from tests.factories import incident_in

D, H, M, S = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1)

HUMAN = [
    (4 * H, "4 h"),
    (15 * M, "15 min"),
    (D, "1 day"),
    (3 * D + 2 * H + 5 * M, "3 days 2 h"),
    (3 * H + 59 * M + 50 * S, "3 h 59 min"),
    (D + 30 * M, "1 day"),  # two units from the largest: the zero hours count as one
    (20 * S, "< 1 min"),
    (timedelta(0), "0 min"),
    (-3 * M, "-3 min"),
    (None, "—"),
]


@pytest.mark.parametrize(("value", "text"), HUMAN)
def test_human_duration(value, text):
    assert human_duration(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(15 * M, "15 min"), (D + 30 * M, "1 day 30 min"), (365 * D, "365 days"), (10 * M + 5 * S, "10 min 5 s")],
)
def test_exact_duration(value, text):
    assert exact_duration(value) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4 h", 4 * H),
        ("15 min", 15 * M),
        ("1 day", D),
        ("3 days 2 h", 3 * D + 2 * H),
        ("1d 4h 30m", D + 4 * H + 30 * M),
        ("2 hours 5 minutes", 2 * H + 5 * M),
        ("10 min 5 s", 10 * M + 5 * S),
        ("04:00:00", 4 * H),  # Django's own notations still work
        ("1 00:00:00", D),
        ("PT4H", 4 * H),
        ("soon", None),
        ("4 h later", None),
        ("", None),
        ("99999999999999 days", None),
    ],
)
def test_parse_human_duration(text, value):
    assert parse_human_duration(text) == value


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the countdown script")
def test_the_countdown_script_writes_durations_as_the_server_does():
    script = Path(finders.find("incidents/clocks.js"))
    cases = [int(v.total_seconds()) for v, _ in HUMAN if v is not None and v >= timedelta(0)]
    cases += [59, 60, 3600, 3660, 86400 * 2 + 1, 86400 * 400]
    runner = f"""
        global.window = {{setInterval() {{}}}};
        global.document = {{readyState: "complete", querySelectorAll() {{ return []; }}}};
        require({json.dumps(str(script))});
        console.log(JSON.stringify({json.dumps(cases)}.map(s => window.itsmClocks.humanDuration(s * 1000))));
    """
    out = subprocess.run(["node", "-e", runner], capture_output=True, text=True, check=True, timeout=30)
    assert json.loads(out.stdout) == [human_duration(timedelta(seconds=s)) for s in cases]


# --- in the admin ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sla_policies_read_as_people_write_them(client, manager):
    """They showed as `0:15:00` and `1 00:00:00`."""
    client.force_login(manager)
    page = client.get(reverse("admin:incidents_slapolicy_changelist")).content.decode()
    for text in ("15 min", "4 h", "30 min", "8 h", "1 day", "3 days"):
        assert f">{text}</td>" in page, text
    assert "0:15:00" not in page and "1 00:00:00" not in page and "1 day, 0:00:00" not in page
    s1 = SlaPolicy.objects.get(severity="S1")
    form_page = client.get(reverse("admin:incidents_slapolicy_change", args=[s1.pk])).content.decode()
    assert 'value="15 min"' in form_page and 'value="4 h"' in form_page


@pytest.mark.django_db
def test_sla_policy_form_takes_the_same_notation(client, manager):
    s2 = SlaPolicy.objects.get(severity="S2")
    client.force_login(manager)
    url = reverse("admin:incidents_slapolicy_change", args=[s2.pk])
    response = client.post(url, {"response_target": "45 min", "resolution_target": "1 day 2 h"})
    assert response.status_code == 302
    s2.refresh_from_db()
    assert (s2.response_target, s2.resolution_target) == (45 * M, D + 2 * H)
    assert str(s2) == "S2: respond in 45 min, resolve in 1 day 2 h"
    refused = client.post(url, {"response_target": "soon", "resolution_target": "4 h"})
    assert refused.status_code == 200
    assert "Enter a valid duration." in refused.content.decode()
    history = client.get(reverse("admin:incidents_slapolicy_history", args=[s2.pk])).content.decode()
    assert "1 day 2 h" in history


@pytest.mark.django_db
def test_time_on_hold_reads_as_people_write_it(client, manager):
    incident = incident_in(State.ON_HOLD, manager=manager)
    client.force_login(manager)
    with time_machine.travel(timezone.now() + 2 * H + 5 * M, tick=False):
        page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    box = page.split("fieldBox field-on_hold_display", 1)[1][:400]
    assert "2 h 5 min" in box
