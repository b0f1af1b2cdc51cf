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
    """The worker replaces the root handlers Django configured with its own: they get the same filter."""
    from itsm.log_filters import RedactSecrets

    for handler in logger.handlers:
        handler.addFilter(RedactSecrets())
