"""GET /healthz, for a load balancer or a monitor: no login, JSON, 200 when every check passes and 503
naming the ones that fail. A check is a function returning a dict with at least "ok"; add one to CHECKS."""

from collections.abc import Callable

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from escalation.selectors import sweep_health


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


CHECKS: dict[str, Callable[[], dict]] = {"database": database, "escalation_sweep": escalation_sweep}


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {name: check() for name, check in CHECKS.items()}
    failing = [name for name, result in checks.items() if not result["ok"]]
    return JsonResponse(
        {"status": "fail" if failing else "ok", "failing": failing, "checks": checks},
        status=503 if failing else 200,
    )
