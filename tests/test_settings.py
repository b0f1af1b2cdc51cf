"""The settings fail closed: DEBUG is off unless the environment turns it on, and without DEBUG a missing
SECRET_KEY, ALLOWED_HOSTS or DEFAULT_FROM_EMAIL stops start-up with a message naming the variable.

Each case imports the settings in a fresh interpreter with a controlled environment, as a server would.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from incidents.api.parsers import DEPTH_MESSAGE

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "SECRET_KEY": "test-only-production-like-key",
    "ALLOWED_HOSTS": "itsm.lab.example,testserver",
    "DEFAULT_FROM_EMAIL": "itsm@lab.example",
}
# Everything the settings read that could leak in from the developer's or the suite's environment.
CONTROLLED = {"DEBUG", *PRODUCTION, "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}


def run_python(code: str, **environment: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in CONTROLLED}
    env.update(DJANGO_SETTINGS_MODULE="itsm.settings", **environment)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def start(**environment: str) -> subprocess.CompletedProcess:
    return run_python("import django; django.setup(); print('started')", **environment)


def test_debug_is_off_unless_the_environment_turns_it_on():
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    # (Production logs JSON lines on stdout too: the value is the last line.)
    assert run_python(code, **PRODUCTION).stdout.splitlines()[-1:] == ["False"]
    assert run_python(code, DEBUG="true").stdout.split() == ["True"]


@pytest.mark.parametrize("missing", sorted(PRODUCTION))
def test_without_debug_a_missing_variable_stops_start_up_and_is_named(missing):
    environment = {key: value for key, value in PRODUCTION.items() if key != missing}
    result = start(**environment)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Set {missing} in the environment (DEBUG is off)" in result.stderr


@pytest.mark.parametrize("missing", sorted(PRODUCTION))
def test_an_empty_variable_counts_as_missing(missing):
    result = start(**{**PRODUCTION, missing: " "})
    assert result.returncode != 0
    assert f"Set {missing} in the environment" in result.stderr


def test_production_values_start():
    result = start(**PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1:] == ["started"]


def test_development_needs_nothing_but_debug():
    result = start(DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_a_malformed_duration_is_named():
    result = start(**PRODUCTION, API_TOKEN_TTL="thirty days")
    assert result.returncode != 0
    assert "API_TOKEN_TTL" in result.stderr


# An anonymous, deeply nested JSON body used to crash the parser and, with DEBUG on by default, answer with
# Django's debug page: settings (the broker URL with its password) and the server's environment (under
# runserver, request.META carries os.environ: DATABASE_URL). The test client gets the same environment.
NESTED_BODY_REQUEST = """
import json, os
import django
django.setup()
from django.test import Client
client = Client(raise_request_exception=False, **os.environ)
response = client.post("/api/v1/auth/token/", data="[" * 100_000, content_type="application/json",
                       secure=True)  # production redirects plain HTTP
print(json.dumps({"status": response.status_code, "type": response["Content-Type"],
                  "body": response.content.decode(errors="replace")}))
"""


@pytest.mark.parametrize("debug", ["false", "true"])
def test_an_anonymous_nested_json_body_is_a_400_never_a_debug_page(debug):
    result = run_python(
        NESTED_BODY_REQUEST,
        **PRODUCTION,
        DEBUG=debug,
        DATABASE_URL="postgres://itsm:db-password-xyz@127.0.0.1:1/itsm",
        CELERY_BROKER_URL="redis://:broker-password-xyz@127.0.0.1:1/0",
    )
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout.strip().splitlines()[-1])
    body = response["body"]
    # The token endpoint's parser refuses the depth before decoding (incidents.api.parsers).
    assert response["status"] == 400
    assert response["type"] == "application/json"
    assert json.loads(body) == {"detail": DEPTH_MESSAGE, "code": "parse_error"}
    for leak in (
        "db-password-xyz",
        "broker-password-xyz",
        "DATABASE_URL",
        "SECRET_KEY",
        "DEBUG",
        "Traceback",
    ):
        assert leak not in body
