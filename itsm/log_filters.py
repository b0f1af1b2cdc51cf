"""Keeps passwords, API tokens and other secrets out of log lines and error reports.

`RedactSecrets` filters the root logging handler (settings.LOGGING) and the Celery worker's handlers
(itsm.celery): each record's message, traceback and stack pass through `redact`, which masks
- `Authorization` header values (`Token …`, `Bearer …`, `Basic …`) and `Token <key>` anywhere;
- the value after a name holding password, secret, token, api key, session id or cookie
  (`password=…`, `"token": "…"`, `SECRET_KEY = '…'`, `?token=…`);
- the password in a connection URL (`postgres://itsm:…@db`, `redis://:…@redis`: DATABASE_URL, the broker);
- the signed token in a caller's answer link (`/confirm/…/`, `/not-fixed/…/`), which acts without a sign-in,
  and the secret token of an on-call calendar feed (`/calendars/….ics`), which reads without one.
`ExceptionReporterFilter` does the same for the values Django's error reports show.
"""

from __future__ import annotations

import logging
import re

from django.views.debug import SafeExceptionReporterFilter

MASK = "********"

_QUOTED_OR_BARE = r"""("[^"]*"|'[^']*'|[^\s"'&,;)}\]]+)"""
_AUTHORIZATION = re.compile(
    r"""(?i)(\b(?:HTTP_)?AUTHORIZATION["']?\s*[:=]\s*["']?)((?:token|bearer|basic)\s+)?([^\s"',;)}\]]+)"""
)
_SCHEME_AND_KEY = re.compile(r"(?i)\b(token|bearer)(\s+)([A-Za-z0-9._~+/=-]{16,})")
_NAMED_SECRET = re.compile(
    r"""(?i)(["']?[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|sessionid|cookie)[\w.-]*["']?"""
    r"""\s*[:=]\s*)""" + _QUOTED_OR_BARE
)
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/?#@\s]*:)([^@/?#\s]+)(@)")
_CALLER_LINK = re.compile(r"(/(?:confirm|not-fixed|calendars)/)([^/?#\s\"']+)")


def _mask_value(match: re.Match) -> str:
    value = match.group(2)
    quote = value[0] if value[:1] in {'"', "'"} else ""
    return f"{match.group(1)}{quote}{MASK}{quote}"


def redact(text: str) -> str:
    text = _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<3>", text)
    text = _CALLER_LINK.sub(rf"\g<1>{MASK}", text)
    text = _AUTHORIZATION.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}{MASK}", text)
    text = _SCHEME_AND_KEY.sub(rf"\g<1>\g<2>{MASK}", text)
    return _NAMED_SECRET.sub(lambda m: m.group(0) if MASK in m.group(2) else _mask_value(m), text)


class RedactSecrets(logging.Filter):
    """Rewrites the record in place, so every handler after this one sees it redacted too."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):
            # Named arguments (gunicorn's access log: the JSON formatter reads them as fields) are redacted
            # one by one and kept, rather than folded into a redacted message.
            for key, value in record.args.items():
                if isinstance(value, str) and (redacted_value := redact(value)) != value:
                    record.args[key] = redacted_value
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: the handler's formatter reports it
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter (settings named like KEY, TOKEN, PASS… hidden) plus `redact` on every other value,
    so CELERY_BROKER_URL's password and, under runserver, DATABASE_URL in request.META are masked."""

    def cleanse_setting(self, key, value):
        value = super().cleanse_setting(key, value)
        if not isinstance(value, str):
            return value
        text = str(value)  # lazy strings (Axes' settings) included
        redacted = redact(text)
        return value if redacted == text else redacted
