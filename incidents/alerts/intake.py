"""One delivery from an alert source: bounded, parsed, kept for debugging, correlated into incidents."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from .. import limits
from ..alert_formats import parse_payload
from ..choices import PayloadStatus
from ..exceptions import PayloadTooLarge
from ..models import AlertPayload, AlertSource
from .correlation import AlertOutcome, correlate
from .sources import alert_source_account


@dataclass(frozen=True)
class AlertIntakeResult:
    payload_id: int
    outcomes: list[AlertOutcome] = field(default_factory=list)

    @property
    def alerts(self) -> int:
        return sum(outcome.count for outcome in self.outcomes)

    @property
    def incidents(self) -> list[str]:
        return list(dict.fromkeys(o.incident for o in self.outcomes if o.incident))


def alert_receive(
    *,
    source: AlertSource,
    payload_bytes: bytes,
    declared_size: int | None = None,
    remote_addr: str | None = None,
) -> AlertIntakeResult:
    """Take one delivery from `source` in its kind's format.

    A body over 10 MiB (as received or as announced by Content-Length), or a notification of more than
    5,000 alerts, raises PayloadTooLarge naming the limit; a malformed one raises ValidationError naming
    what is wrong. Both are recorded as rejected payloads (a refused one without its content). Anything
    within the limits is accepted whole: Alertmanager gives up on a 4xx, so a valid large group must never
    get one. The alerts are correlated into incidents by `correlation.correlate`.
    """
    size = max(len(payload_bytes), declared_size or 0)
    if size > limits.MAX_ALERT_BODY_BYTES:
        message = f"The body has {size} bytes; at most {limits.MAX_ALERT_BODY_BYTES} (10 MiB) are accepted."
        _record(source, PayloadStatus.REJECTED, body=b"", size=size, remote_addr=remote_addr, error=message)
        raise PayloadTooLarge(message)
    try:
        received = parse_payload(source.kind, payload_bytes)
    except ValidationError as exc:
        _record(
            source,
            PayloadStatus.REJECTED,
            body=payload_bytes,
            size=size,
            remote_addr=remote_addr,
            error=_error_text(exc),
        )
        raise
    except PayloadTooLarge as exc:
        _record(source, PayloadStatus.REJECTED, body=b"", size=size, remote_addr=remote_addr, error=str(exc))
        raise
    payload = _record(source, PayloadStatus.ACCEPTED, body=payload_bytes, size=size, remote_addr=remote_addr)
    try:
        account = alert_source_account(source=source)
        outcomes = correlate(source=source, account=account, alerts=received, now=timezone.now())
    except Exception as exc:
        # Kept for debugging like any other payload; the error itself propagates (a 500 is a bug).
        AlertPayload.objects.filter(pk=payload.pk).update(
            status=PayloadStatus.REJECTED, error=f"Processing failed: {type(exc).__name__}: {exc}"
        )
        raise
    incident_ids = dict.fromkeys(o.incident_id for o in outcomes if o.incident_id)
    if incident_ids:  # a new payload has no links yet: one insert
        links = AlertPayload.incidents.through
        links.objects.bulk_create([links(alertpayload_id=payload.pk, incident_id=pk) for pk in incident_ids])
    return AlertIntakeResult(payload_id=payload.pk, outcomes=outcomes)


# What is kept of a body: enough to debug a sender, while a 10 MiB group re-sent every few minutes for 30
# days does not fill the disk. The size column keeps the whole size.
STORED_BODY_BYTES = 1024 * 1024


def _record(source, status, *, body: bytes, size: int, remote_addr, error: str = "") -> AlertPayload:
    if len(body) > STORED_BODY_BYTES:
        cut = f"\n… (cut here: {len(body) - STORED_BODY_BYTES} more bytes not kept)".encode()
        body = body[:STORED_BODY_BYTES] + cut
    return AlertPayload.objects.create(
        source=source,
        status=status,
        # Decoded leniently: a body that is not UTF-8 is kept (marked) for whoever debugs the sender.
        body=body.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
        size=size,
        remote_addr=remote_addr or None,
        error=error,
    )


def _error_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "\n".join(f"{path}: {' '.join(messages)}" for path, messages in exc.message_dict.items())
    return " ".join(exc.messages)
