"""Thin, idempotent Celery tasks of the incidents app."""

from celery import shared_task

from . import alerts


@shared_task(acks_late=True)
def purge_alert_payloads():
    """Daily (celery beat): raw alert payloads are kept 30 days for debugging, then deleted."""
    return alerts.alert_payloads_purge()
