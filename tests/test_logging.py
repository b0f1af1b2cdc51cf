"""No password, token or secret in a log line or an error report (itsm.log_filters): the root handler's
filter rewrites each record before any other handler (here pytest's caplog) sees it."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.views.debug import get_exception_reporter_filter

from itsm.log_filters import MASK, ExceptionReporterFilter, RedactSecrets, redact

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
