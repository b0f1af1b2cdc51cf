"""Queuing tasks without making a request wait on a broker that is down.

Nothing is lost when a task cannot be queued: the escalation or notification stays in the database, and the
minute sweep queues it. So after one failed attempt this process stops trying for PAUSE_AFTER_FAILURE
seconds and leaves everything straight to the sweep: a Redis that accepts connections but never answers
then costs one request its socket timeouts (CELERY_BROKER_TRANSPORT_OPTIONS), not every request, and not
every notification of one request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

PAUSE_AFTER_FAILURE = 15.0  # seconds; well under the sweep's minute, so nothing waits much longer for it

_paused_until = 0.0


def publish(send: Callable[[], object], *, what: str) -> bool:
    """Call `send` (an `apply_async` or `delay`) unless publishing is paused; False when it did not go."""
    global _paused_until
    if time.monotonic() < _paused_until:
        return False
    try:
        send()
    except Exception as exc:  # the broker refused, timed out or is unknown: all the same to the sweep
        _paused_until = time.monotonic() + PAUSE_AFTER_FAILURE  # one float: no lock needed between threads
        # The class only: the message may name the broker's host and password.
        logger.warning(
            "Broker unavailable (%s); %s left for the sweep, and queuing paused for %g s",
            type(exc).__name__,
            what,
            PAUSE_AFTER_FAILURE,
        )
        return False
    return True


def resume() -> None:
    """Try the broker again at the next publish (tests; a process that knows it is back)."""
    global _paused_until
    _paused_until = 0.0
