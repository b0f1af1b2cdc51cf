"""Item 8 of issue #9, `make run` a newcomer can read: e-mails go to one file (var/log/mail.log), links in them
use the served host and port, and the logins and alert token come last in a box (written by `load_demo
--logins-file`, printed by the Makefile once the server answers). The demo leaving nothing due for the first
sweep is tested in tests/escalation/test_demo.py."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command

from escalation.choices import Template
from escalation.services import render
from incidents.choices import State
from tests.factories import incident_in
from tests.test_settings import run_python

ROOT = Path(__file__).resolve().parent.parent
SHOW_MAIL_SETTINGS = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.EMAIL_BACKEND); print(settings.EMAIL_LOG_FILE); print(settings.SITE_URL)"
)


def test_mail_is_appended_to_the_log_file(settings, tmp_path):
    log = tmp_path / "log" / "mail.log"
    settings.EMAIL_BACKEND = "itsm.mail.AppendToFileEmailBackend"
    settings.EMAIL_LOG_FILE = str(log)

    mail.send_mail("First", "Body one", "itsm@localhost", ["desk@lab.example"])
    mail.send_mail("Second — Ümlaut", "Body two", "itsm@localhost", ["manager@lab.example"])

    text = log.read_text(encoding="utf-8")
    assert "Subject: First" in text and "Body one" in text
    assert "To: manager@lab.example" in text and "Body two" in text
    assert text.count("-" * 79) == 2  # one separator after each message


def test_email_log_file_setting_selects_the_file_backend():
    backend, log_file, _ = run_python(
        SHOW_MAIL_SETTINGS, DEBUG="true", EMAIL_LOG_FILE="var/log/mail.log"
    ).stdout.split()
    assert backend == "itsm.mail.AppendToFileEmailBackend"
    assert log_file == str(ROOT / "var" / "log" / "mail.log")  # relative to the project folder

    output = run_python(SHOW_MAIL_SETTINGS, DEBUG="true").stdout.split()
    assert output[0] == "django.core.mail.backends.console.EmailBackend"  # development default unchanged


def test_site_url_follows_the_environment():
    *_, site_url = run_python(
        SHOW_MAIL_SETTINGS, DEBUG="true", SITE_URL="http://127.0.0.1:8123"
    ).stdout.split()
    assert site_url == "http://127.0.0.1:8123"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
@pytest.mark.parametrize(
    ("environment", "arguments", "expected"),
    [
        ({}, ["HOST=127.0.0.1", "PORT=8123"], "http://127.0.0.1:8123"),
        ({}, [], "http://127.0.0.1:8000"),
        ({"SITE_URL": "https://itsm.lab.example"}, ["PORT=8123"], "https://itsm.lab.example"),
    ],
)
def test_makefile_links_follow_the_served_host_and_port(environment, arguments, expected):
    env = {key: value for key, value in os.environ.items() if key not in ("SITE_URL", "HOST", "PORT")}
    result = subprocess.run(
        [
            "make",
            "-s",
            "--no-print-directory",
            "--eval",
            "print-%: ; @echo $($*)",
            "print-SITE_URL",
            *arguments,
        ],
        cwd=ROOT,
        env={**env, **environment},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stdout.strip() == expected, result.stderr


def test_links_in_e_mails_use_site_url(db, settings):
    """Staff messages link to the admin at SITE_URL; stakeholder messages do not (they cannot open it)."""
    settings.SITE_URL = "http://127.0.0.1:8123"
    incident = incident_in(State.CLASSIFIED)
    _, text, html = render(template=Template.ESCALATION, incident=incident, extra={"level": 1})
    assert f"http://127.0.0.1:8123/admin/incidents/incident/{incident.pk}/change/" in text
    assert "127.0.0.1:8000" not in text + html
    _, text, html = render(template=Template.INCIDENT_NOTIFICATION, incident=incident)
    assert "/admin/" not in text + html


def test_logins_box_is_written_for_make_run(reference_data, settings, tmp_path, capsys):
    settings.SITE_URL = "http://127.0.0.1:8123"
    settings.EMAIL_LOG_FILE = str(ROOT / "var" / "log" / "mail.log")
    logins = tmp_path / "run" / "logins.txt"

    call_command("load_demo", incidents=0, logins_file=str(logins))

    box = logins.read_text(encoding="utf-8")
    assert stat.S_IMODE(logins.stat().st_mode) == 0o600  # passwords and tokens
    lines = box.splitlines()
    assert lines[0].startswith("┌") and lines[-1].startswith("└")
    assert len({len(line) for line in lines}) == 1  # a closed box
    assert "http://127.0.0.1:8123/admin/" in box and "/api/v1/redoc/ (ReDoc)" in box
    assert "tail -f var/log/mail.log" in box
    for username in ("desk", "sysadmin", "expert", "manager", "director", "security"):
        assert any(line.startswith(f"│ {username} ") for line in lines), username
    assert "Authorization: Bearer " in box
    out = capsys.readouterr().out
    assert "Bearer" not in out and "desk " not in out  # the terminal shows them only in the box, last
    assert str(logins) in out

    call_command("load_demo", incidents=0, logins_file=str(logins))  # a later start
    box = logins.read_text(encoding="utf-8")
    assert "Bearer" not in box and "token was shown at the first start only" in box
