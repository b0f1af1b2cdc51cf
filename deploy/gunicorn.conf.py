"""Gunicorn's settings for itsm (`gunicorn --config deploy/gunicorn.conf.py itsm.wsgi`: the Procfile's web
process and deploy/itsm-web.service). Everything comes from the environment, or the project's .env:

- WEB_BIND (default 127.0.0.1:8000): where to listen; nginx (deploy/nginx-itsm.conf) proxies to it. Not
  PORT: honcho sets PORT for every process it starts.
- WEB_WORKERS (default 2 x CPUs + 1, at most 8) processes, each with WEB_THREADS (default 4) threads.
- WEB_TIMEOUT (default 60 s): a request taking longer is aborted and its worker replaced.
- LOG_FORMAT (json without DEBUG): the access log and gunicorn's own messages as JSON lines on stdout
  (itsm.log_format), with the request's id, passwords and tokens masked (itsm.log_filters).
"""

import multiprocessing
import os
import shutil
import sys
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))  # itsm.log_format below, whatever directory gunicorn starts in
environ.Env.read_env(BASE_DIR / ".env")  # as the settings do: the environment wins over the file
env = environ.Env()

bind = [env.str("WEB_BIND", default="127.0.0.1:8000")]
workers = env.int("WEB_WORKERS", default=min(2 * multiprocessing.cpu_count() + 1, 8))
threads = env.int("WEB_THREADS", default=4)
worker_class = "gthread"
timeout = env.int("WEB_TIMEOUT", default=60)
# On SIGTERM workers finish the requests they are serving, for up to this long (systemd waits 30 s).
graceful_timeout = 20
keepalive = 5
# A worker is replaced after this many requests (jittered, so not all at once): bounds any slow leak.
max_requests = 2000
max_requests_jitter = 200
chdir = str(BASE_DIR)
# The proxy's X-Forwarded-* are read by Django (TRUSTED_PROXIES, SECURE_PROXY_SSL_HEADER), not by gunicorn.
forwarded_allow_ips = ""
# Request lines and headers: gunicorn's limits, stated (the body limit is Django's, API_MAX_BODY_BYTES).
limit_request_line = 8190

_debug = env.bool("DEBUG", default=False)
_json = env.str("LOG_FORMAT", default="text" if _debug else "json") == "json"
accesslog = "-"
errorlog = "-"
loglevel = env.str("LOG_LEVEL", default="INFO").lower()
# In text form: the usual combined format plus the time taken and the request's id.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms id=%({x-request-id}o)s'
_handler = {
    "class": "logging.StreamHandler",
    "stream": "ext://sys.stdout",
    "filters": ["redact_secrets"],
    "formatter": "json" if _json else "text",
}
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "itsm.log_filters.RedactSecrets"}},
    "formatters": {
        "json": {"()": "itsm.log_format.JsonFormatter"},
        "text": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"},
    },
    "handlers": {"access": _handler, "error": _handler},
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["error"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}
# The application's own settings module, also for anything gunicorn imports first.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itsm.settings")
# Gunicorn 25+'s control socket would be one path per user, shared by every gunicorn that user runs.
control_socket_disable = True

# /metrics adds up every worker's request counts (prometheus_client's multiprocess mode, itsm/metrics/views.py):
# each worker writes its counts into this folder, emptied when gunicorn starts. Set here, not in .env, so the
# Celery processes do not write there too.
_metrics_dir = Path(env.str("PROMETHEUS_MULTIPROC_DIR", default=str(BASE_DIR / "var" / "prometheus")))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir)


def on_starting(server):
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    _metrics_dir.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    """A worker that ended (replaced after max_requests, or crashed) leaves no live gauges behind."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
