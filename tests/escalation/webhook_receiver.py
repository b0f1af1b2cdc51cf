"""A webhook receiver as a lab's automation would write one: a real HTTP server on 127.0.0.1 that checks
each delivery with the `standardwebhooks` library, keeps what it accepted by `webhook-id`, and can be told
to fail (all deliveries, or chosen ones) to show what the sender does then."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from escalation.models import Notification
from escalation.services import deliver


@dataclass
class SignedReceiver:
    url: str = ""
    secret: str = ""  # the hook's secret, as the receiver was given it
    failing: bool = False  # answer 500 to every delivery
    failing_ids: set = field(default_factory=set)  # answer 500 to these webhook-ids
    attempts: list = field(default_factory=list)  # (webhook-id, status answered)
    accepted: list = field(default_factory=list)  # (webhook-id, payload), verified and answered 200
    refused: list = field(default_factory=list)  # (webhook-id, why): signature or headers wrong

    def handle(self, headers: dict, body: bytes) -> int:
        message_id = headers.get("webhook-id", "")
        if self.failing or message_id in self.failing_ids:
            self.attempts.append((message_id, 500))
            return 500
        try:
            payload = StandardWebhook(self.secret).verify(body, headers)
        except WebhookVerificationError as exc:
            self.refused.append((message_id, str(exc)))
            self.attempts.append((message_id, 400))
            return 400
        self.accepted.append((message_id, payload))
        self.attempts.append((message_id, 200))
        return 200

    def accepted_ids(self) -> list[str]:
        return [message_id for message_id, _ in self.accepted]


@pytest.fixture
def signed_receiver(loopback_webhooks):
    receiver = SignedReceiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                status = receiver.handle(dict(self.headers), body)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}/hook"
    yield receiver
    server.shutdown()


def deliver_due(now, *, order=None, twice: bool = False) -> list[str]:
    """What the worker does at `now`: a delivery task for every pending webhook row whose attempt is due
    (the task queued on commit, its retry, or the sweep's), in the given order (default: as raised).
    `twice` runs each task twice, as a redelivered task would. Returns the statuses."""
    ids = list(
        Notification.objects.filter(status="pending", channel="webhook", next_attempt_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if order is not None:
        order(ids)
    statuses = []
    for pk in ids:
        statuses.append(deliver(notification_id=pk)[0])
        if twice:
            deliver(notification_id=pk)
    return statuses
