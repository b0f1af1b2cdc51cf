"""The production settings (README "Production"): `check --deploy` is silent with deploy/.env.example's
values, HTTPS is enforced from the environment (except for /healthz and /metrics), every page carries the
Content-Security-Policy, and static files are served by the application itself (WhiteNoise) once
`collectstatic` has run, with DEBUG off."""

import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from itsm.csp import policy_header
from tests.test_settings import CONTROLLED, PRODUCTION, ROOT, run_python

ENV_EXAMPLE = ROOT / "deploy" / ".env.example"


def env_example() -> dict[str, str]:
    """deploy/.env.example as a deployment fills it in: the one value left empty is the secret key."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    assert values.pop("SECRET_KEY") == "", "the example must not ship a key anyone could copy"
    return {**values, "SECRET_KEY": secrets.token_urlsafe(50)}


def test_check_deploy_is_silent_with_the_documented_production_environment():
    environment = env_example()
    assert environment["DEBUG"] == "false"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**run_python_env(), **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def run_python_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in CONTROLLED | {"LOG_FORMAT"}}


def test_the_example_documents_every_required_variable():
    names = set(env_example())
    assert {
        *PRODUCTION,
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CACHE_URL",
        "EMAIL_URL",
        "TRUSTED_PROXIES",
    } <= names
    assert {"WEB_BIND", "WEB_WORKERS", "WEB_THREADS", "CELERY_CONCURRENCY", "SECURE_HSTS_SECONDS"} <= names


SHOW_HTTPS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print('https:', s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
    "s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER)"
)


def https_settings(**environment) -> str:
    output = run_python(SHOW_HTTPS, **environment).stdout
    return next(line for line in output.splitlines() if line.startswith("https:")).removeprefix("https: ")


def test_https_is_enforced_in_production_and_set_from_the_environment():
    assert https_settings(**PRODUCTION) == (
        "True 31536000 True True True True ('HTTP_X_FORWARDED_PROTO', 'https')"
    )
    assert https_settings(
        **PRODUCTION,
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        SECURE_HSTS_PRELOAD="false",
    ).startswith("False 3600 False False")
    assert https_settings(DEBUG="true").startswith("False 0 False False")  # development: plain HTTP


def test_plain_http_is_redirected_except_for_health_and_metrics(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/admin/login/")
    assert response.status_code == 301 and response["Location"] == "https://testserver/admin/login/"
    # Load balancers and Prometheus inside the network use plain HTTP.
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/metrics").status_code != 301


@pytest.mark.parametrize("url", ["/admin/login/", "/api/v1/docs/", "/api/v1/redoc/", "/healthz", "/api/v1/"])
def test_every_response_carries_the_one_content_security_policy(client, db, url):
    policy = client.get(url)["Content-Security-Policy"]
    assert policy == policy_header(settings.CONTENT_SECURITY_POLICY)
    directives = dict(directive.split(" ", 1) for directive in policy.split("; "))
    assert directives["script-src"] == "'self'"  # no inline script anywhere
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'self'"


# With DEBUG off, in a fresh interpreter as gunicorn has it: collectstatic into a new folder, then the test
# client asks the admin's login page for its stylesheets and the files it names.
SERVE_STATIC = """
import re, sys
import django
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("collectstatic", "--noinput", verbosity=0)
client = Client()
page = client.get("/admin/login/", secure=True).content.decode()
names = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
docs = client.get("/api/v1/docs/", secure=True).content.decode()
names += re.findall(r'(?:href|src)="(/static/[^"]+)"', docs)
for name in names:
    response = client.get(name, secure=True)
    print("static:", response.status_code, name, response.get("Cache-Control"))
print("missing:", client.get("/static/admin/css/no-such-file.css", secure=True).status_code)
"""


def test_static_files_are_served_by_the_application_without_debug(tmp_path):
    result = run_python(SERVE_STATIC, **PRODUCTION, STATIC_ROOT=str(tmp_path / "static"))
    assert result.returncode == 0, result.stderr
    served = [line.split() for line in result.stdout.splitlines() if line.startswith("static:")]
    names = [name for _, _, name, *_ in served]
    assert any(name.startswith("/static/admin/css/base.") for name in names)
    assert any("swagger-ui-bundle" in name for name in names)  # the API docs' own copy
    for _, status, name, *cache_control in served:
        assert status == "200", name
        # Names carry a hash of the content (collectstatic's manifest), so browsers may keep them for good.
        assert re.search(r"\.[0-9a-f]{12}\.", name), name
        assert "immutable" in " ".join(cache_control), name
    assert "missing: 404" in result.stdout
