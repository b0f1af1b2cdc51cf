"""Log lines as JSON, one object per line (LOG_FORMAT=json, the default without DEBUG), for journald, Loki or
whatever collects the lab's logs: `time` (UTC), `level`, `logger`, `message`, `pid`, and when they apply
`request_id` (itsm.request_id), `task_id`/`task_name` (inside a Celery task) and `exception` (the traceback).

Gunicorn's access log goes through it too (deploy/gunicorn.conf.py): its lines carry the request's fields
(`method`, `path`, `query`, `status`, `bytes`, `duration_ms`, `remote_addr`, `user_agent`, `request_id`).
The RedactSecrets filter still runs first on every handler; the query string is redacted here as well.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from itsm.log_filters import redact
from itsm.request_id import current_request_id

ACCESS_LOGGER = "gunicorn.access"


def _access_fields(atoms: Mapping) -> dict:
    """Gunicorn's access-log atoms (its `access_log_format` letters) under readable names."""

    def atom(key):
        value = atoms.get(key)
        return None if value in (None, "-", "") else value

    return {
        "method": atom("m"),
        "path": atom("U"),
        "query": redact(atom("q")) if atom("q") else None,
        "status": int(atom("s")) if str(atom("s") or "").isdigit() else atom("s"),
        "bytes": atom("B"),
        "duration_ms": round(atom("D") / 1000, 1) if isinstance(atom("D"), int) else None,
        "remote_addr": atom("h"),
        "user_agent": atom("a"),
        "referer": atom("f"),
        "request_id": atom("{x-request-id}o"),
    }


def _celery_task() -> dict:
    try:
        from celery._state import get_current_task
    except ImportError:  # the formatter does not need Celery installed
        return {}
    task = get_current_task()
    if task is None or task.request.id is None:
        return {}
    return {"task_id": task.request.id, "task_name": task.name}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        if record.name == ACCESS_LOGGER and isinstance(record.args, Mapping):
            entry.update(
                {key: value for key, value in _access_fields(record.args).items() if value is not None}
            )
        entry.update(_celery_task())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)
