"""One settings module for every environment: production differs by environment variables, not code.

It fails closed: DEBUG is off unless the environment turns it on, and without DEBUG a missing SECRET_KEY,
ALLOWED_HOSTS or DEFAULT_FROM_EMAIL stops start-up. With DEBUG=true (`make run` and `make test` set it) and
nothing else you get a zero-setup development site: SQLite in the project folder, mail to the console and a
file-system Celery broker (no Redis needed).
"""

import ipaddress
import sys
from datetime import date, timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_duration

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; ignored when absent

DEBUG = env.bool("DEBUG", default=False)


def _required(name: str, *, development, cast=str):
    """A value production must set (an empty one counts as unset); with DEBUG on, `development` stands in."""
    if DEBUG:
        return env.get_value(name, cast=cast, default=development)
    value = env.get_value(name, cast=cast, default="")
    if not (value.strip() if isinstance(value, str) else [item for item in value if item.strip()]):
        raise ImproperlyConfigured(f"Set {name} in the environment (DEBUG is off).")
    return value


def _duration(name: str, *, default: str) -> timedelta:
    """A positive duration: ISO 8601 ("P30D", "PT15M"), "DD HH:MM:SS" or seconds."""
    value = env.str(name, default=default)
    duration = parse_duration(value.strip())
    if duration is None or duration <= timedelta(0):
        raise ImproperlyConfigured(f"{name} must be a positive duration such as {default!r}, not {value!r}.")
    return duration


# Development gets a fixed, clearly-labelled key; production must provide its own.
SECRET_KEY = _required("SECRET_KEY", development="dev-only-insecure-key")
ALLOWED_HOSTS = _required("ALLOWED_HOSTS", cast=list, development=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "itsm.admin_site.ItsmAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our static files, not a CDN
    "simple_history",
    "django_celery_beat",
    "axes",
    "django_prometheus",  # request counts and latencies for GET /metrics (itsm.metrics)
    "incidents",
    "escalation",
    "reporting",
]

MIDDLEWARE = [
    # First and last: request counts and latencies for /metrics, the other middlewares' time included.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # An id for each request, on the response and every log line; it reads the proxy's X-Request-ID only
    # from a trusted proxy, so it runs before the client's address replaces the proxy's.
    "itsm.request_id.RequestIdMiddleware",
    # Next, so everything after it (throttles, sign-in lockout, logs) sees the real client address.
    "itsm.client_address.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files, served by the application itself (no file server to configure); right after the
    # security headers, before sessions and the database are touched.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The site-wide Content-Security-Policy (CONTENT_SECURITY_POLICY below).
    "itsm.csp.ContentSecurityPolicyMiddleware",
    # A NUL character in a query string (?q=%00) is a 400 before any view queries PostgreSQL with it.
    "itsm.middleware.RefuseNulMiddleware",
    # A view that lost the database connection answers 503 with Retry-After, not 500.
    "itsm.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Times in the signed-in user's time zone (their preference, else TIME_ZONE).
    "incidents.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Puts request.user on every history row written while serving a request.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Turns a sign-in refused for too many failures into the lockout page (429).
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "itsm.urls"
WSGI_APPLICATION = "itsm.wsgi.application"
ASGI_APPLICATION = "itsm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Seconds a connection is kept for the thread's next request (0: one per request). A kept connection is
# checked before reuse, so one PostgreSQL dropped (a restart, pg_terminate_backend) is replaced, not failed on.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a concurrent writer (worker, beat, web) instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# API throttling counts here: one process in development; set CACHE_URL=redis://... when serving with
# several processes so they share the counts.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A Redis that is down or does not answer costs a request 1 s, not the system's TCP timeout of minutes
    # (redis-py waits forever for an answer by default); the throttles then let the request through.
    CACHES["default"].setdefault("OPTIONS", {}).update({"socket_connect_timeout": 1, "socket_timeout": 1})

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# Times show on the 24-hour clock with their zone ("2 Mar 2026, 23:15 CET"): itsm/formats/.
FORMAT_MODULE_PATH = ["itsm.formats"]

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(VAR_DIR / "static"))
# Production serves the files `collectstatic` gathered (WhiteNoise): names carry a hash of the content, so
# browsers cache them for a year, with gzip copies. Development and the tests serve the apps' own
# folders as they are and need no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Decided here, not by WhiteNoise at start-up from DEBUG, which the test runner turns off.
WHITENOISE_AUTOREFRESH = WHITENOISE_USE_FINDERS = DEBUG
# Uploaded and generated files (stored reports); served by the admin's download view, not as static files.
MEDIA_URL = "media/"
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))

LOGIN_URL = "admin:login"

# --- sign-in and API tokens ------------------------------------------------------------------------------
# Axes first: it refuses a locked-out account or address before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Reverse proxies in front of the site (addresses or networks, comma-separated). Only when the connecting
# address is one of them is X-Forwarded-For read (itsm.client_address); otherwise it is ignored.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# After LOGIN_FAILURE_LIMIT failed sign-ins (admin or API token endpoint) an account, and separately an
# address, is refused for LOGIN_LOCKOUT_TIME after its latest attempt; an Incident Manager can release it
# earlier in the admin (Axes > Access attempts: delete the row).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = _duration("LOGIN_LOCKOUT_TIME", default="PT15M")
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "incidents.sign_in.lockout_response"
# The address ClientAddressMiddleware resolved; never a header the client wrote.
AXES_CLIENT_IP_CALLABLE = "itsm.client_address.client_address"
# The username as typed, cut to the length Axes can store (a longer one was a 500 on PostgreSQL).
AXES_USERNAME_CALLABLE = "incidents.sign_in.lockout_username"
# A token from POST /api/v1/auth/token/ works this long; then it answers 401 and the endpoint issues a new
# one. Changing the password revokes it at once.
API_TOKEN_TTL = _duration("API_TOKEN_TTL", default="P30D")

# --- e-mail ------------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# Development: with EMAIL_LOG_FILE set (`make run` sets var/log/mail.log) every e-mail is appended to that
# file instead of going where EMAIL_URL says; a relative path is taken from the project folder.
EMAIL_LOG_FILE = str(BASE_DIR / env("EMAIL_LOG_FILE")) if env("EMAIL_LOG_FILE", default="") else ""
if EMAIL_LOG_FILE:
    EMAIL_BACKEND = "itsm.mail.AppendToFileEmailBackend"
DEFAULT_FROM_EMAIL = _required("DEFAULT_FROM_EMAIL", development="itsm@localhost")

# --- outbound webhooks -------------------------------------------------------------------------------
# Webhooks never reach loopback, private, link-local (169.254.169.254), shared, multicast or reserved
# addresses, written or resolved, unless listed here: CIDR networks (WEBHOOK_ALLOWED_NETWORKS=10.20.0.0/16)
# or exact host names (WEBHOOK_ALLOWED_HOSTS=chat.lab.internal). Comma-separated; empty by default.
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
# A failed delivery is retried with exponential back-off (30 s doubling, at most an hour apart) for this long
# after its first failure; an endpoint is paused (its events kept for later) once it has failed without a
# single success for WEBHOOK_PAUSE_AFTER. ISO 8601 durations.
WEBHOOK_RETRY_PERIOD = _duration("WEBHOOK_RETRY_PERIOD", default="PT24H")
WEBHOOK_PAUSE_AFTER = _duration("WEBHOOK_PAUSE_AFTER", default="PT24H")

# --- input limits (issue #8) ------------------------------------------------------------------------
# Request bodies: the API's parsers answer 413 beyond API_MAX_BODY_BYTES (alert intake keeps its own 10 MiB, incidents.limits),
# Django's form parsing (the admin) 400. Free text (descriptions, notes, comments): MAX_TEXT_LENGTH
# characters. Detection: at most DETECTED_AT_MAX_AGE_DAYS before logging. Nothing an incident records (in the
# CSV import too) lies before EARLIEST_INCIDENT_DATE (YYYY-MM-DD, in TIME_ZONE).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
MAX_TEXT_LENGTH = env.int("MAX_TEXT_LENGTH", default=20_000)
DETECTED_AT_MAX_AGE = timedelta(days=env.int("DETECTED_AT_MAX_AGE_DAYS", default=30))
EARLIEST_INCIDENT_DATE = date.fromisoformat(env("EARLIEST_INCIDENT_DATE", default="2000-01-01"))
# Files sent with an incident (portal, e-mail): each at most ATTACHMENT_MAX_BYTES, at most
# ATTACHMENTS_PER_INCIDENT per incident. They are stored under MEDIA_ROOT and served only through a view
# that checks who may see them (never from MEDIA_URL).
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENTS_PER_INCIDENT = env.int("ATTACHMENTS_PER_INCIDENT", default=20)

# --- REST API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # JSON only, bounded in size and nesting depth (incidents.api.parsers): the schema declares exactly
    # what the API reads, so generated clients work. The admin's HTML forms are Django's, not DRF's.
    "DEFAULT_PARSER_CLASSES": ["incidents.api.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "incidents.api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "incidents.api.query_params.RejectUnknownParameters",  # an unknown parameter is a 400
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "incidents.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "incidents.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "incidents.api.errors.exception_handler",
    # Per-user and per-address limits; 429 with Retry-After beyond them. Counted in the cache (CACHE_URL).
    # The address is REMOTE_ADDR, which ClientAddressMiddleware has already resolved through TRUSTED_PROXIES:
    # DRF must not read X-Forwarded-For again (NUM_PROXIES None would trust whatever the client sent).
    "NUM_PROXIES": 0,
    "DEFAULT_THROTTLE_CLASSES": [
        # DRF's, except that a cache that is down lets requests through rather than answering 500.
        "incidents.api.throttling.UserRateThrottle",
        "incidents.api.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env("API_RATE_USER", default="600/min"),
        "anon": env("API_RATE_ANON", default="60/min"),
        "alert_source": env("API_RATE_ALERT_SOURCE", default="1200/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "itsm API",
    "DESCRIPTION": "ITIL incident management: incidents, their lifecycle, SLA clocks and audit trail.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs pages load Swagger UI and ReDoc from our own static files (drf-spectacular-sidecar), so they
    # work in a lab network without internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets shared by several fields get one schema name (urgency/impact/criticality share a scale).
    "ENUM_NAME_OVERRIDES": {
        "LevelEnum": "incidents.choices.Level",
        # Escalation levels (1-3) are another "level": without their own name they would silently take
        # LevelEnum's (high/medium/low) in the schema.
        "EscalationLevelEnum": "escalation.choices.Level",
        "StateEnum": "incidents.choices.State",
        "HoldReasonEnum": "incidents.choices.HoldReason",
        "AlertStatusEnum": "incidents.choices.AlertStatus",
        "AlertActionEnum": "incidents.choices.AlertAction",
    },
}

# --- Celery ------------------------------------------------------------------------------------------
# Development uses a file-system broker so `make run` needs no Redis; production sets redis://. The test
# suite defaults to an in-process broker so no test message can reach a development worker.
TESTING = "pytest" in sys.modules
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
# No task is queued further ahead than this: an escalation due later waits in the database, and the minute
# sweep queues it once it falls due within the horizon (escalation.services.queue_upcoming). The same bound
# caps every retry's countdown; a longer back-off waits in the outbox for the sweep.
ESCALATION_QUEUE_HORIZON = _duration("ESCALATION_QUEUE_HORIZON", default="PT10M")
# Redis redelivers what a worker has held longer than this (seconds): it must exceed the longest a task is
# held, the horizon plus the run time limit, or a waiting task would be handed out twice.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"CELERY_TASK_SOFT_TIME_LIMIT ({CELERY_TASK_SOFT_TIME_LIMIT} s) must be below "
        f"CELERY_TASK_TIME_LIMIT ({CELERY_TASK_TIME_LIMIT} s)."
    )
_longest_hold = int(ESCALATION_QUEUE_HORIZON.total_seconds()) + CELERY_TASK_TIME_LIMIT
if _longest_hold >= CELERY_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        f"CELERY_VISIBILITY_TIMEOUT ({CELERY_VISIBILITY_TIMEOUT} s) must be above ESCALATION_QUEUE_HORIZON "
        f"plus CELERY_TASK_TIME_LIMIT ({_longest_hold} s), or Redis hands waiting tasks out twice."
    )
# ("localhost" names no server: it only spares kombu's "No hostname was supplied" warning at start-up.)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://" if TESTING else "filesystem://localhost")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.2,  # the default 1 s caps a worker at a few tasks a second
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A Redis that is unreachable, or accepts connections but never answers, is an error after 2 s, not
        # after the system's TCP timeout of minutes or never (a web request queuing a task would wait that
        # long), and a connection a firewall or NAT dropped without a word is noticed (keepalive, a PING when
        # idle 10 s). The worker's BRPOP asks Redis to answer within 1 s (kombu's brpop_timeout) and is
        # read only once the answer has arrived, so the 2 s read timeout never cuts a wait for work short.
        "socket_connect_timeout": 2,
        "socket_timeout": 2,
        "socket_keepalive": True,
        "health_check_interval": 10,
        # Redis hands a message nobody acknowledged within this many seconds to a worker again. A worker
        # holds a task unacknowledged until it has run (acks_late), an ETA task until its time too.
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    }
# Queuing a task tries twice, not Celery's four times with its timeouts each: whatever cannot be queued
# waits in the database for the minute sweep (escalation.services.publishing), so a request that queues
# work during a Redis outage answers within seconds.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Worker processes (`celery worker` without --concurrency); Celery's default is one per CPU.
if env("CELERY_CONCURRENCY", default=""):
    CELERY_WORKER_CONCURRENCY = env.int("CELERY_CONCURRENCY")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The worker and beat wait out a broker outage however long it lasts (by default they give up after 100
# attempts), at start-up too. A task running when the connection drops is cancelled: its unacknowledged
# message is delivered again, and every task is safe to run twice.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Seconds: /healthz and the admin home page report the escalation sweep (run every minute) as failing when
# its last success is older than this, since then the worker or beat is down.
SWEEP_STALE_AFTER = env.int("SWEEP_STALE_AFTER", default=300)

# GET /metrics (Prometheus) answers `Authorization: Bearer <METRICS_TOKEN>` or a client address inside
# METRICS_ALLOWED_NETWORKS (CIDRs, comma-separated; the address TRUSTED_PROXIES resolves). With neither set
# it answers 404 (with DEBUG on, loopback may read it): production never exposes it by accident.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="").strip()
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters (e.g. `openssl rand -hex 32`).")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network.strip(), strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {exc}") from exc

# Error reports (the debug page, mailed tracebacks) hide connection URLs' passwords as well as Django's list.
DEFAULT_EXCEPTION_REPORTER_FILTER = "itsm.log_filters.ExceptionReporterFilter"

SIMPLE_HISTORY_REVERT_DISABLED = True  # history is an audit trail, never an undo button

# json: one JSON object per line on stdout (itsm.log_format), each with the request's id; the default
# without DEBUG. text: plain messages on stderr, for a terminal (development).
LOG_FORMAT = env("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # No password, token or secret reaches a log line (the Celery worker's handlers get it too: itsm.celery).
    "filters": {
        "redact_secrets": {"()": "itsm.log_filters.RedactSecrets"},
        "request_id": {"()": "itsm.request_id.RequestIdFilter"},
    },
    "formatters": {"json": {"()": "itsm.log_format.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact_secrets", "request_id"],
            **({"formatter": "json", "stream": "ext://sys.stdout"} if LOG_FORMAT == "json" else {}),
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- HTTPS (production: TLS ends at the reverse proxy, deploy/nginx-itsm.conf) ----------------------------
# Without DEBUG: plain HTTP is redirected to HTTPS, and browsers are told to use nothing but HTTPS for a
# year, on this host and its subdomains (HSTS). The preload flag only matters once someone submits the
# domain to the browsers' built-in list. /healthz and /metrics answer over plain HTTP too: load balancers
# and Prometheus reach them inside the network.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)

# The browser loads and runs nothing from outside the site, and no inline script (itsm.csp). Inline styles
# stay: the admin, Swagger UI and ReDoc set style attributes; ReDoc renders in a blob: worker.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'self'"],
}
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
