"""The API's rate limits, counted in the cache (CACHE_URL), and open while the cache is down.

An unreachable or unanswering cache (Redis stopped, restarting, blackholed) lets every request through
instead of failing it with a 500: logging and classifying incidents during a Redis outage matters more than
a minute without rate limits. Sign-in guessing stays bounded meanwhile by the lockout, which counts in the
database (Axes)."""

from __future__ import annotations

import logging
import time

from rest_framework import throttling

from incidents.cache_errors import CACHE_ERRORS

logger = logging.getLogger(__name__)

WARN_EVERY = 60.0  # seconds: one warning a minute per process while the cache stays down, not one a request

_last_warning = -WARN_EVERY


def _warn_cache_down(exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY:
        _last_warning = now
        # The class only: the message may name the cache's host and password.
        logger.warning("Cache unavailable (%s): API rate limits are not applied", type(exc).__name__)


class FailOpenOnCacheError:
    """Lets the request through when the throttle cannot read or write its counts."""

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            _warn_cache_down(exc)
            return True


class UserRateThrottle(FailOpenOnCacheError, throttling.UserRateThrottle):
    pass


class AnonRateThrottle(FailOpenOnCacheError, throttling.AnonRateThrottle):
    pass


class SimpleRateThrottle(FailOpenOnCacheError, throttling.SimpleRateThrottle):
    """The base of the project's own throttles (the alert sources' rate)."""
