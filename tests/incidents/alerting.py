"""Helpers of the alert intake tests: alert sources with known tokens and real Alertmanager payloads."""

from __future__ import annotations

import copy
import json

from rest_framework.test import APIClient

from incidents.choices import AlertSourceKind
from incidents.models import AlertSource

ALERTMANAGER_URL = "/api/v1/alerts/alertmanager/"
GENERIC_URL = "/api/v1/alerts/"

STARTS_AT = "2025-03-04T09:12:31.482917254Z"  # Alertmanager's RFC 3339, nanoseconds and all
ENDS_AT = "2025-03-04T09:41:01.482917254Z"
GENERATOR_URL = "http://prometheus.lab:9090/graph?g0.expr=ceph_osd_up+%3D%3D+0&g0.tab=1"

# What Alertmanager 0.27 posts to a webhook receiver (send_resolved: true) for one alert.
CEPH_OSD_DOWN = {
    "receiver": "itsm",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "CephOSDDown",
                "ceph_daemon": "osd.7",
                "instance": "pve-03:9283",
                "job": "ceph",
                "service": "ceph",
                "severity": "critical",
            },
            "annotations": {
                "summary": "OSD osd.7 is down",
                "description": "osd.7 on pve-03 has been marked down for more than 5 minutes.",
                "runbook_url": "https://wiki.lab/runbooks/ceph-osd-down",
            },
            "startsAt": STARTS_AT,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": GENERATOR_URL,
            "fingerprint": "3c1c5e0fa4a4f1f2",
        }
    ],
    "groupLabels": {"alertname": "CephOSDDown"},
    "commonLabels": {
        "alertname": "CephOSDDown",
        "ceph_daemon": "osd.7",
        "instance": "pve-03:9283",
        "job": "ceph",
        "service": "ceph",
        "severity": "critical",
    },
    "commonAnnotations": {
        "summary": "OSD osd.7 is down",
        "description": "osd.7 on pve-03 has been marked down for more than 5 minutes.",
        "runbook_url": "https://wiki.lab/runbooks/ceph-osd-down",
    },
    "externalURL": "http://alertmanager.lab:9093",
    "version": "4",
    "groupKey": '{}/{severity="critical"}:{alertname="CephOSDDown"}',
    "truncatedAlerts": 0,
}


def alertmanager_payload(status: str = "firing", *, copies: int = 1, **alert_changes) -> dict:
    """CEPH_OSD_DOWN firing or resolved; `copies` repeats the alert (a storm in one notification)."""
    payload = copy.deepcopy(CEPH_OSD_DOWN)
    alert = payload["alerts"][0]
    alert.update(alert_changes)
    alert["status"] = payload["status"] = status
    if status == "resolved":
        alert["endsAt"] = ENDS_AT
    payload["alerts"] = [alert] * copies
    return payload


def make_source(
    name: str = "Prometheus", *, kind: str = AlertSourceKind.ALERTMANAGER, **fields
) -> tuple[AlertSource, str]:
    """A saved source and its token (issued as the admin does on creation)."""
    source = AlertSource(
        name=name, slug=fields.pop("slug", name.lower().replace(" ", "-")), kind=kind, **fields
    )
    token = source.issue_token()
    source.save()
    return source, token


def post(url: str, payload, token: str | None, *, client: APIClient | None = None, **extra):
    client = client or APIClient()
    body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(url, data=body, content_type="application/json", **headers, **extra)
