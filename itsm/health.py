"""GET /healthz, for a load balancer or a monitor: no login, JSON, 200 when every check passes and 503
naming the ones that fail. A check is a function returning a dict with at least "ok"; add one to CHECKS.

A failing check names only the exception's class: its message may carry host names, users or passwords.
The broker and cache checks talk to other servers (Redis in production); each runs in a thread of its own
and /healthz waits for it at most CHECK_TIMEOUT seconds, so a Redis that hangs cannot hang the monitor."""

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, close_old_connections, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

from escalation.selectors import sweep_health

CHECK_TIMEOUT = 2.0  # seconds /healthz waits for the broker and for the cache
SOCKET_TIMEOUT = 1.5  # seconds for each connect and each answer, so a stuck check's thread ends soon too


def database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return {"ok": False, "error": type(exc).__name__}  # the message may name hosts and users
    return {"ok": True}


def escalation_sweep() -> dict:
    """Fails when the sweep has not succeeded for SWEEP_STALE_AFTER seconds: the worker or beat is down."""
    try:
        health = sweep_health()
    except DatabaseError as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {
        "ok": health.ok,
        "last_success_at": health.last_success_at.isoformat() if health.last_success_at else None,
        "age_seconds": int(health.age.total_seconds()) if health.age is not None else None,
    }


def _broker_reachable() -> None:
    """One connection attempt to CELERY_BROKER_URL, no retry (Redis answers a PING; the memory and
    filesystem brokers of development and tests are up when kombu can open them)."""
    url = settings.CELERY_BROKER_URL
    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}))
    if url.startswith(("redis://", "rediss://")):
        options.update(socket_connect_timeout=SOCKET_TIMEOUT, socket_timeout=SOCKET_TIMEOUT)
    with Connection(url, transport_options=options, connect_timeout=SOCKET_TIMEOUT) as broker:
        broker.ensure_connection(max_retries=0)


def _cache_round_trip() -> None:
    """Writes a key of its own to the default cache (CACHE_URL) and reads it back."""
    close_old_connections()  # a database cache's connection in this long-lived thread: drop a broken one
    key, value = f"healthz:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=30)
    if cache.get(key) != value:
        raise LookupError("the value written was not read back")
    cache.delete(key)


# One thread per network probe, and at most one call of each in flight: requests arriving while one runs
# wait for its answer rather than start another, so a Redis that hangs ties up one thread, not one per request.
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="healthz")
_in_flight: dict[str, Future] = {}
_lock = threading.Lock()


def _start(name: str, probe: Callable[[], None]) -> Future:
    with _lock:
        future = _in_flight.get(name)
        if future is None or future.done():
            future = _in_flight[name] = _executor.submit(probe)
    return future


def _outcome(future: Future, deadline: float) -> dict:
    try:
        future.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        return {"ok": False, "error": "Timeout"}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}  # the message may name hosts and passwords
    return {"ok": True}


# Checks run in the request (they use its database connection) and probes of other servers run in threads:
# "broker" fails when nothing can be queued (escalations, notifications), "cache" when the default cache
# cannot store and return a value (the API's throttling counts there).
CHECKS: dict[str, Callable[[], dict]] = {"database": database, "escalation_sweep": escalation_sweep}
PROBES: dict[str, Callable[[], None]] = {"broker": _broker_reachable, "cache": _cache_round_trip}


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    deadline = time.monotonic() + CHECK_TIMEOUT
    probes = {name: _start(name, probe) for name, probe in PROBES.items()}  # under way while the rest run
    checks = {name: check() for name, check in CHECKS.items()}
    checks.update({name: _outcome(future, deadline) for name, future in probes.items()})
    failing = [name for name, result in checks.items() if not result["ok"]]
    return JsonResponse(
        {"status": "fail" if failing else "ok", "failing": failing, "checks": checks},
        status=503 if failing else 200,
    )
