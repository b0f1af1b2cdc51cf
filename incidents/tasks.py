"""Thin, idempotent Celery tasks of the incidents app."""

from celery import shared_task

from . import alerts, services


@shared_task(acks_late=True)
def purge_alert_payloads():
    """Daily (celery beat): raw alert payloads are kept 30 days for debugging, then deleted."""
    return alerts.alert_payloads_purge()


@shared_task(acks_late=True)
def auto_close_resolved():
    """Every 15 minutes (celery beat): close the resolved incidents nobody answered about within
    `ProcessSettings.auto_close_after` (`services.incidents_auto_close`; safe to run twice)."""
    return services.incidents_auto_close()
