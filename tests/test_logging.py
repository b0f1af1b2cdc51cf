"""No password, token or secret in a log line or an error report (itsm.log_filters): the root handler's
filter rewrites each record before any other handler (here pytest's caplog) sees it. In production the lines
are JSON, one per line on stdout, each with its request's id (itsm.log_format, itsm.request_id)."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.views.debug import get_exception_reporter_filter

from itsm.log_filters import MASK, ExceptionReporterFilter, RedactSecrets, redact
from itsm.log_format import JsonFormatter
from itsm.request_id import HEADER as REQUEST_ID_HEADER
from itsm.request_id import RequestIdMiddleware, current_request_id

KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
BROKER_URL = "redis://:broker-pw-123@redis.lab:6379/0"
DATABASE_URL = "postgres://itsm:db-pw-456@db.lab:5432/itsm"
SECRETS = [KEY, "hunter2", "broker-pw-123", "db-pw-456", "not-for-logs", "s3cret-value", "ZGVzazpodW50ZXIy"]

logger = logging.getLogger("itsm.tests.logging")


def test_the_root_handler_filters_every_record():
    assert any(
        isinstance(f, RedactSecrets) for handler in logging.getLogger().handlers for f in handler.filters
    )


def test_log_lines_never_carry_secrets(caplog):
    with caplog.at_level(logging.INFO):
        logger.info("GET /api/v1/incidents/ Authorization: Token %s", KEY)
        logger.info("headers %s", {"HTTP_AUTHORIZATION": "Basic ZGVzazpodW50ZXIy", "HTTP_ACCEPT": "*/*"})
        logger.warning("sign-in failed: username=desk password=hunter2")
        logger.warning('body {"username": "desk", "password": "hunter2"} from /x?token=%s&page=2', KEY)
        logger.error("broker %s unreachable; database %s", BROKER_URL, DATABASE_URL)
        logger.info("settings {'SECRET_KEY': 'not-for-logs', 'client_secret': 's3cret-value'}")
        logger.info("user presented Token %s", KEY)
    for secret in SECRETS:
        assert secret not in caplog.text
    # What is not a secret stays readable.
    assert "username=desk" in caplog.text
    assert f"redis://:{MASK}@redis.lab:6379/0" in caplog.text
    assert f"postgres://itsm:{MASK}@db.lab:5432/itsm" in caplog.text
    assert "page=2" in caplog.text and "HTTP_ACCEPT" in caplog.text


def test_tracebacks_are_redacted_too(caplog):
    try:
        raise ConnectionError(f"cannot reach {BROKER_URL} with password=hunter2")
    except ConnectionError:
        logger.exception("broker down")
    assert "ConnectionError" in caplog.text
    for secret in ("broker-pw-123", "hunter2"):
        assert secret not in caplog.text


def test_plain_messages_are_left_alone(caplog):
    logger.info("Token expired; request a new one. Revoked 2 API tokens for %s.", "desk")
    assert "Token expired; request a new one. Revoked 2 API tokens for desk." in caplog.text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("Authorization: Bearer abc.def.ghi", f"Authorization: Bearer {MASK}"),
        ("sessionid=abc; csrftoken=def", f"sessionid={MASK}; csrftoken={MASK}"),
        ("api_key: zzz", f"api_key: {MASK}"),
        ('"password": "two words"', f'"password": "{MASK}"'),
    ],
)
def test_redact(text, redacted):
    assert redact(text) == redacted


# A real worker of the project's Celery app (what `celery -A itsm worker` starts) replaces the root handlers
# Django configured with its own and gives task loggers their own: once it is ready, it logs a secret through
# each, then stops itself. The in-memory broker needs no Redis and reaches no other worker.
WORKER = f"""
import logging, os, signal, sys
from celery.signals import worker_ready
from celery.utils.log import get_task_logger
from itsm.celery import app

@worker_ready.connect
def log_secrets(**kwargs):
    logging.getLogger("itsm.worker_check").warning("root logger: password=hunter2")
    get_task_logger("itsm.worker_check").warning("task logger: Authorization: Token {KEY}")
    os.kill(os.getpid(), signal.SIGTERM)  # a warm shutdown

app.worker_main(["worker", "--pool=solo", "--loglevel=INFO", "--logfile=" + sys.argv[1],
                 "--without-gossip", "--without-mingle", "--without-heartbeat"])
"""


def test_the_celery_workers_log_lines_are_redacted(tmp_path):
    logfile = tmp_path / "worker.log"
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(logfile)],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "CELERY_BROKER_URL": "memory://"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    log = logfile.read_text() if logfile.exists() else ""
    assert "root logger: password=" in log and "task logger: Authorization: Token" in log, result.stderr
    assert "hunter2" not in log and KEY not in log
    assert f"password={MASK}" in log and f"Token {MASK}" in log


def test_error_reports_hide_connection_passwords(settings, rf):
    settings.CELERY_BROKER_URL = BROKER_URL
    request = rf.get("/", DATABASE_URL=DATABASE_URL)  # runserver puts the environment in request.META
    report_filter = get_exception_reporter_filter(request)
    assert isinstance(report_filter, ExceptionReporterFilter)
    assert report_filter.get_safe_settings()["CELERY_BROKER_URL"] == f"redis://:{MASK}@redis.lab:6379/0"
    assert "db-pw-456" not in str(report_filter.get_safe_request_meta(request))


# --- JSON lines with the request's id (LOG_FORMAT=json, the default without DEBUG) ---------------------


def json_line(record: logging.LogRecord) -> dict:
    """The line the production handler writes for `record`: RedactSecrets first, then the JSON formatter."""
    RedactSecrets().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def make_record(message, *args, name="itsm.tests.logging", level=logging.WARNING, exc_info=None):
    return logging.LogRecord(name, level, __file__, 1, message, args, exc_info)


def test_a_json_line_has_the_time_level_logger_and_message():
    entry = json_line(make_record("sign-in failed for %s: password=%s", "desk", "hunter2"))
    assert entry["level"] == "WARNING" and entry["logger"] == "itsm.tests.logging"
    assert entry["message"] == f"sign-in failed for desk: password={MASK}"
    assert entry["time"].endswith("+00:00") and entry["pid"] == os.getpid()
    assert "request_id" not in entry  # outside a request


def test_a_json_line_carries_the_traceback_redacted():
    try:
        raise ConnectionError(f"cannot reach {BROKER_URL}")
    except ConnectionError:
        entry = json_line(make_record("broker down", exc_info=sys.exc_info()))
    assert "ConnectionError" in entry["exception"] and "broker-pw-123" not in entry["exception"]


def test_gunicorns_access_log_becomes_fields_with_the_query_redacted():
    atoms = {
        "h": "192.0.2.7",
        "r": f"GET /api/v1/alerts/?token={KEY}&page=2 HTTP/1.1",
        "m": "GET",
        "U": "/api/v1/alerts/",
        "q": f"token={KEY}&page=2",
        "s": "200",
        "B": 512,
        "D": 12_345,
        "a": "curl/8",
        "f": "-",
        "{x-request-id}o": "0123456789abcdef0123456789abcdef",
    }
    entry = json_line(make_record('%(h)s "%(r)s" %(s)s', atoms, name="gunicorn.access", level=logging.INFO))
    assert KEY not in json.dumps(entry)
    assert entry["query"] == f"token={MASK}&page=2"
    assert entry["message"] == f'192.0.2.7 "GET /api/v1/alerts/?token={MASK}&page=2 HTTP/1.1" 200'
    assert {
        key: entry[key] for key in ("method", "path", "status", "bytes", "duration_ms", "remote_addr")
    } == {
        "method": "GET",
        "path": "/api/v1/alerts/",
        "status": 200,
        "bytes": 512,
        "duration_ms": 12.3,
        "remote_addr": "192.0.2.7",
    }
    assert entry["request_id"] == "0123456789abcdef0123456789abcdef"
    assert "referer" not in entry  # gunicorn's "-" is no value


def test_a_callers_answer_link_is_logged_without_its_token():
    """The signed token in /confirm/<token>/ acts without a sign-in: it stays out of the access log."""
    token = "MTIz:1tYc9Z:Xk2hP0mJ9qLwV3bN8rT5yU7iO1aS4dF6gH"
    atoms = {"h": "192.0.2.7", "r": f"GET /confirm/{token}/ HTTP/1.1", "m": "GET", "U": f"/confirm/{token}/"}
    atoms |= {"q": "", "s": "200", "B": 10, "D": 1000, "a": "-", "f": "-"}
    entry = json_line(make_record('%(h)s "%(r)s" %(s)s', atoms, name="gunicorn.access", level=logging.INFO))
    assert token not in json.dumps(entry)
    assert entry["path"] == f"/confirm/{MASK}/"
    assert redact(f"POST /not-fixed/{token}/ 200") == f"POST /not-fixed/{MASK}/ 200"


def view_that_logs(request):
    logging.getLogger("itsm.tests.view").warning("inside the view")
    return HttpResponse("ok")


def serve(rf, **meta):
    return RequestIdMiddleware(view_that_logs)(rf.get("/", **meta))


def test_each_request_gets_an_id_on_the_response_and_on_its_log_lines(rf, caplog, settings):
    settings.TRUSTED_PROXIES = []
    with caplog.at_level(logging.INFO):
        first, second = serve(rf), serve(rf)
    ids = [first[REQUEST_ID_HEADER], second[REQUEST_ID_HEADER]]
    assert all(len(request_id) == 32 for request_id in ids) and ids[0] != ids[1]
    records = [record for record in caplog.records if record.name == "itsm.tests.view"]
    assert [JsonFormatter().format(record) for record in records]
    assert [json.loads(JsonFormatter().format(record))["request_id"] for record in records] == ids
    assert current_request_id() is None  # nothing left behind for the thread's next request


def test_the_proxys_request_id_is_kept_only_from_a_trusted_proxy(rf, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    nginx_id = "5f1e0f3c2b8a4d6e9c7b1a2d3e4f5a6b"
    assert serve(rf, REMOTE_ADDR="10.0.0.5", HTTP_X_REQUEST_ID=nginx_id)[REQUEST_ID_HEADER] == nginx_id
    # From anyone else, or not shaped like an id (a log line or header of its own), a new one is made.
    assert serve(rf, REMOTE_ADDR="192.0.2.7", HTTP_X_REQUEST_ID=nginx_id)[REQUEST_ID_HEADER] != nginx_id
    for offered in ['x" injected', "short", "a" * 200]:
        assert serve(rf, REMOTE_ADDR="10.0.0.5", HTTP_X_REQUEST_ID=offered)[REQUEST_ID_HEADER] != offered


def test_every_response_of_the_site_has_a_request_id(client, db):
    assert len(client.get("/healthz")[REQUEST_ID_HEADER]) == 32


SHOW_LOGGING = (
    "import django; django.setup(); from django.conf import settings; import logging; "
    "handler = logging.getLogger().handlers[0]; "
    "print('logging:', settings.LOG_FORMAT, type(handler.formatter).__name__, handler.stream.name)"
)


def logging_setup(**environment) -> list[str]:
    from tests.test_settings import run_python

    result = run_python(SHOW_LOGGING, **environment)
    return next(line.split()[1:] for line in result.stdout.splitlines() if line.startswith("logging:"))


def test_production_logs_json_lines_on_stdout_and_development_plain_text():
    from tests.test_settings import PRODUCTION, run_python

    assert logging_setup(**PRODUCTION) == ["json", "JsonFormatter", "<stdout>"]
    assert logging_setup(DEBUG="true") == ["text", "NoneType", "<stderr>"]  # plain messages
    assert logging_setup(**PRODUCTION, LOG_FORMAT="text")[0] == "text"
    refused = run_python(SHOW_LOGGING, **PRODUCTION, LOG_FORMAT="xml")
    assert refused.returncode != 0 and "LOG_FORMAT must be json or text" in refused.stderr


def test_the_celery_worker_logs_json_lines_on_stdout():
    result = subprocess.run(
        [sys.executable, "-c", WORKER.replace('"--logfile=" + sys.argv[1],', "")],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "CELERY_BROKER_URL": "memory://", "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    entries = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    messages = {entry["message"]: entry for entry in entries}
    assert "root logger: password=********" in messages, result.stdout + result.stderr
    assert f"task logger: Authorization: Token {MASK}" in messages
    assert messages["root logger: password=********"]["logger"] == "itsm.worker_check"
