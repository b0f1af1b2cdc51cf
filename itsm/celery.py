"""The Celery app: reads every CELERY_* setting from Django settings and finds each app's tasks.py."""

import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itsm.settings")

app = Celery("itsm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_filesystem_broker_folders(sender, **kwargs):
    """The zero-setup file-system broker needs its folders to exist before a worker polls them."""
    from pathlib import Path

    for key in ("data_folder_in", "processed_folder", "control_folder"):
        folder = (sender.conf.broker_transport_options or {}).get(key)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_secrets_in_worker_logs(logger, **kwargs):
    """The worker replaces the root handlers Django configured with its own: they get the same filter and,
    with LOG_FORMAT=json, the same JSON lines on stdout (a --logfile keeps its file)."""
    import logging
    import sys

    from django.conf import settings

    from itsm.log_filters import RedactSecrets
    from itsm.log_format import JsonFormatter

    for handler in logger.handlers:
        handler.addFilter(RedactSecrets())
        if settings.LOG_FORMAT == "json":
            handler.setFormatter(JsonFormatter())
            if type(handler) is logging.StreamHandler and handler.stream is sys.__stderr__:
                # The real stdout: sys.stdout is by now Celery's proxy that logs what is printed.
                handler.setStream(sys.__stdout__)
