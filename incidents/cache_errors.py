"""What the default cache (CACHE_URL) raises when it is down, for the code that carries on without it."""

try:
    from redis.exceptions import RedisError
except ImportError:  # no Redis client installed: no Redis cache either
    RedisError = OSError

# redis-py's errors (refused, timed out, reset), and the socket's own OSError (builtin ConnectionError and
# TimeoutError among them) from backends that do not wrap it.
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)
