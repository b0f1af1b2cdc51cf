"""What monitoring posts, parsed into `ReceivedAlert`s: Prometheus Alertmanager's webhook (version 4) and a
generic JSON alert for any tool that can POST JSON.

Pure functions, no database. A malformed payload raises ValidationError naming every offending field by
its path (`alerts[2].startsAt`). Whatever is accepted can be stored as it is: text is valid UTF-8 without
NUL characters (PostgreSQL refuses both in text and JSON columns) and numbers are finite.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils import timezone

from .choices import AlertSourceKind, AlertStatus, Level
from .exceptions import PayloadTooLarge
from .limits import MAX_ALERTS_PER_DELIVERY

TITLE_LENGTH = 200  # Incident.title
FINGERPRINT_LENGTH = 255  # IncidentAlert.fingerprint
URL_LENGTH = 2000  # IncidentAlert.generator_url
ALERTMANAGER_VERSION = "4"
MAX_REPORTED_ERRORS = 50


@dataclass(frozen=True)
class ReceivedAlert:
    """One alert as monitoring reported it. `service`, `severity`, `urgency` and `impact` are what the
    payload itself says; when empty, the alert source's label mapping decides."""

    status: str
    fingerprint: str
    title: str
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""
    service: str = ""
    severity: str = ""
    urgency: str = ""
    impact: str = ""
    # The notification's group (Alertmanager's groupKey; "" for generic alerts) and how many of the
    # group's alerts Alertmanager left out of it (`truncatedAlerts`, its `max_alerts`).
    group_key: str = ""
    group_truncated: int = 0


def parse_payload(kind: str, payload_bytes: bytes) -> list[ReceivedAlert]:
    """The alerts in a body posted by a source of `kind` (an `AlertSourceKind`)."""
    data = decode_json(payload_bytes)
    return PARSERS[kind](data)


def decode_json(payload_bytes: bytes) -> Any:
    if not payload_bytes.strip():
        raise ValidationError({"body": ["The body is empty; send a JSON object."]})
    try:
        text = payload_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError({"body": [f"The body is not UTF-8 (byte {exc.start})."]}) from exc
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            {"body": [f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."]}
        ) from exc
    except ValueError as exc:
        raise ValidationError({"body": [str(exc)]}) from exc
    except RecursionError as exc:
        raise ValidationError({"body": ["The JSON is nested too deeply."]}) from exc


def _refuse_constant(name: str):
    raise ValueError(f"Not valid JSON: {name} is not a number JSON allows.")


def fingerprint_of(labels: dict[str, str], *extra: str) -> str:
    """A stable identity for an alert that came without one: its sorted labels (as Alertmanager does)."""
    material = json.dumps([sorted(labels.items()), *extra], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


# --- Alertmanager webhook, version 4 ---------------------------------------------------------------------


def parse_alertmanager(data: Any) -> list[ReceivedAlert]:
    """Alertmanager's webhook body: `version`, `status`, `alerts[]` (each with `status`, `labels`,
    `annotations`, `startsAt`, `endsAt`, `generatorURL`, `fingerprint`), `groupKey` (the group the alerts
    are correlated by) and `truncatedAlerts`; the other group fields (`commonLabels`, ...) are kept in the
    stored payload. More than `MAX_ALERTS_PER_DELIVERY` alerts raise PayloadTooLarge."""
    errors = _Errors()
    if not isinstance(data, dict):
        raise ValidationError({"body": ["Expected a JSON object (Alertmanager webhook, version 4)."]})
    version = data.get("version", ALERTMANAGER_VERSION)
    if str(version) != ALERTMANAGER_VERSION or isinstance(version, bool):
        errors.add("version", f"Unsupported version {version!r}; this endpoint takes version 4.")
    items = data.get("alerts")
    if not isinstance(items, list) or not items:
        errors.add("alerts", "Expected a non-empty list of alerts.")
        items = []
    if len(items) > MAX_ALERTS_PER_DELIVERY:
        raise PayloadTooLarge(
            f"The notification has {len(items)} alerts; at most {MAX_ALERTS_PER_DELIVERY} are accepted "
            "(set max_alerts in Alertmanager's webhook_config)."
        )
    group_key = _text(data.get("groupKey"), "groupKey", errors)
    truncated = data.get("truncatedAlerts", 0)
    truncated = truncated if isinstance(truncated, int) and not isinstance(truncated, bool) else 0
    alerts = []
    for i, item in enumerate(items):
        path = f"alerts[{i}]"
        if not isinstance(item, dict):
            errors.add(path, "Expected an object.")
            continue
        status = _status(item.get("status"), f"{path}.status", errors, required=True)
        labels = _labels(item.get("labels"), f"{path}.labels", errors, required=True)
        annotations = _labels(item.get("annotations"), f"{path}.annotations", errors)
        starts_at = _time(item.get("startsAt"), f"{path}.startsAt", errors)
        ends_at = _time(item.get("endsAt"), f"{path}.endsAt", errors)
        url = _url(item.get("generatorURL"), f"{path}.generatorURL", errors)
        fingerprint = _text(
            item.get("fingerprint"), f"{path}.fingerprint", errors, max_length=FINGERPRINT_LENGTH
        )
        if errors.under(path):
            continue
        fingerprint = fingerprint or fingerprint_of(labels)
        alerts.append(
            ReceivedAlert(
                status=status,
                fingerprint=fingerprint,
                title=_alertmanager_title(labels, annotations, fingerprint),
                description=annotations.get("description") or annotations.get("message") or "",
                labels=labels,
                annotations=annotations,
                starts_at=starts_at,
                ends_at=ends_at,
                generator_url=url,
                group_key=group_key,
                group_truncated=max(0, truncated),
            )
        )
    errors.raise_if_any()
    return alerts


def _alertmanager_title(labels: dict, annotations: dict, fingerprint: str) -> str:
    """Alertname and summary ("HostDown: pve-03 does not answer"), else the alertname and instance
    ("HostDown on pve-03:9100"), else the fingerprint."""
    name = labels.get("alertname", "")
    summary = annotations.get("summary") or annotations.get("title") or ""
    if name and summary:
        title = f"{name}: {summary}"
    elif summary:
        title = summary
    elif name:
        title = f"{name} on {labels['instance']}" if labels.get("instance") else name
    else:
        title = f"Alert {fingerprint}"
    return _clip(" ".join(title.split()), TITLE_LENGTH) or f"Alert {fingerprint}"


# --- generic JSON ---------------------------------------------------------------------------------------


def parse_generic(data: Any) -> list[ReceivedAlert]:
    """One alert: `title` (required when firing), `status` (firing | resolved, default firing),
    `fingerprint` (default: derived from `source`, `title` and `labels`), `description`, `service` (a
    service slug), `severity` (looked up in the source's severity map) or `urgency` + `impact`, `labels`,
    `annotations`, `starts_at`, `generator_url` and `source` (the sending tool's name, kept as a label)."""
    errors = _Errors()
    if not isinstance(data, dict):
        raise ValidationError({"body": ["Expected a JSON object (one alert)."]})
    # Absent means firing; given, it must be one of the statuses (null or "" is not "firing").
    status = _status(data.get("status", AlertStatus.FIRING), "status", errors, required=True)
    fingerprint = _text(data.get("fingerprint"), "fingerprint", errors, max_length=FINGERPRINT_LENGTH)
    title = _text(data.get("title"), "title", errors)
    description = _text(data.get("description"), "description", errors)
    tool = _text(data.get("source"), "source", errors, max_length=100)
    service = _text(data.get("service"), "service", errors, max_length=120)
    severity = _text(data.get("severity"), "severity", errors, max_length=100)
    urgency = _text(data.get("urgency"), "urgency", errors)
    impact = _text(data.get("impact"), "impact", errors)
    labels = _labels(data.get("labels"), "labels", errors)
    annotations = _labels(data.get("annotations"), "annotations", errors)
    starts_at = _time(data.get("starts_at"), "starts_at", errors)
    url = _url(data.get("generator_url"), "generator_url", errors)
    for name, value in (("urgency", urgency), ("impact", impact)):
        if value and value not in Level.values:
            errors.add(name, f"'{value}' is not a valid choice; use one of: {', '.join(Level.values)}.")
    if bool(urgency) != bool(impact):
        errors.add("impact" if urgency else "urgency", "Give urgency and impact together (or severity).")
    if not title.strip() and (status == AlertStatus.FIRING or not fingerprint):
        errors.add("title", "This field is required" + (" for a firing alert." if fingerprint else "."))
    errors.raise_if_any()

    if tool:
        labels.setdefault("source", tool)
    return [
        ReceivedAlert(
            status=status,
            fingerprint=fingerprint or fingerprint_of(labels, title.strip()),
            title=_clip(" ".join(title.split()), TITLE_LENGTH),
            description=description,
            labels=labels,
            annotations=annotations,
            starts_at=starts_at,
            generator_url=url,
            service=service.strip(),
            severity=severity.strip(),
            urgency=urgency,
            impact=impact,
        )
    ]


PARSERS = {AlertSourceKind.ALERTMANAGER: parse_alertmanager, AlertSourceKind.GENERIC: parse_generic}


# --- field checks ---------------------------------------------------------------------------------------


class _Errors(dict):
    """Field path → messages, as `ValidationError` takes them."""

    def add(self, path: str, message: str) -> None:
        self.setdefault(path, []).append(message)

    def under(self, prefix: str) -> bool:
        return any(path == prefix or path.startswith(prefix + ".") for path in self)

    def raise_if_any(self) -> None:
        if not self:
            return
        errors = dict(list(self.items())[:MAX_REPORTED_ERRORS])
        if len(self) > MAX_REPORTED_ERRORS:  # a thousand broken alerts need not make a megabyte of errors
            errors.setdefault("body", []).append(
                f"{len(self) - MAX_REPORTED_ERRORS} more fields have problems; fix these first."
            )
        raise ValidationError(errors)


def _storable(text: str) -> str | None:
    """The reason `text` cannot be stored, or None."""
    if "\x00" in text:
        return "Must not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode (no lone surrogates)."
    return None


def _text(value, path: str, errors: _Errors, *, required: bool = False, max_length: int | None = None) -> str:
    if value is None:
        if required:
            errors.add(path, "This field is required.")
        return ""
    if not isinstance(value, str):
        errors.add(path, "Expected a string.")
        return ""
    problem = _storable(value)
    if problem:
        errors.add(path, problem)
        return ""
    if max_length is not None and len(value) > max_length:
        errors.add(path, f"At most {max_length} characters.")
        return ""
    if required and not value.strip():
        errors.add(path, "This field is required.")
    return value


def _status(value, path: str, errors: _Errors, *, required: bool = False) -> str:
    status = _text(value, path, errors, required=required)
    if status and status not in AlertStatus.values:
        errors.add(path, f"'{status}' is not a valid choice; use one of: {', '.join(AlertStatus.values)}.")
    return status


def _labels(value, path: str, errors: _Errors, *, required: bool = False) -> dict[str, str]:
    """An object of names to strings; numbers and booleans are taken as their text."""
    if value is None:
        if required:
            errors.add(path, "This field is required.")
        return {}
    if not isinstance(value, dict):
        errors.add(path, "Expected an object of names to strings.")
        return {}
    labels = {}
    for name, item in value.items():
        # The name first: it becomes part of the error's path, and the error is stored with the payload.
        if _storable(name):
            errors.add(path, f"A name: {_storable(name)}")
            continue
        if isinstance(item, bool):
            item = "true" if item else "false"
        elif isinstance(item, int | float):
            item = str(item)
        elif item is None:
            item = ""
        if not isinstance(item, str):
            errors.add(f"{path}.{name}", "Expected a string.")
            continue
        if _storable(item):
            errors.add(f"{path}.{name}", _storable(item))
            continue
        labels[name] = item
    return labels


def _time(value, path: str, errors: _Errors) -> datetime | None:
    """An ISO 8601 time (RFC 3339 from Alertmanager; extra fractional digits are dropped). Alertmanager's
    zero time (year 1) means "none"; a time without an offset is taken in the server's time zone."""
    text = _text(value, path, errors)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        errors.add(path, f"'{_clip(text, 40)}' is not an ISO 8601 time such as 2025-01-31T12:00:00Z.")
        return None
    if moment.year <= 1:
        return None
    try:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        errors.add(path, "Out of range.")
        return None


def _url(value, path: str, errors: _Errors) -> str:
    """The link back to the alert. Any http(s) URL with a host counts (Prometheus' own URLs are often
    `http://prometheus:9090/...`, a host name without a dot); anything else is not linked, but never
    costs the alert itself."""
    return web_link(_text(value, path, errors, max_length=URL_LENGTH))


def web_link(url: str) -> str:
    """`url` when it is an http(s) URL with a host, else "": what monitoring sends is linked (in the admin,
    in pages) only then, never as `javascript:` or a relative path."""
    if not url or not isinstance(url, str):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.hostname else ""


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
