"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis, in process over WSGI).

Every operation gets generated requests, valid and invalid, sent as an Incident Manager (alert endpoints
with their source's token) against a database with incidents in every state. The rule under test: no
input gets a 5xx, and every answer matches the schema (status code, content type and body).

`FUZZ_EXAMPLES` bounds the examples per operation (small by default, so `make test` stays fast);
`make fuzz` runs many more, from a new seed each time.
"""

from __future__ import annotations

import os
import random
from datetime import timedelta

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from escalation.choices import RotationKind
from escalation.models import Rotation, RotationMember, RotationOverride
from incidents import services
from incidents.choices import AlertSourceKind, Role
from tests.factories import ServiceFactory, incident_in, make_user
from tests.incidents.alerting import make_source

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
# `make test` uses a fixed seed, `make fuzz` a new one each run (FUZZ_SEED=random). A failure names its seed
# and example count: with them (and the same code and test selection: Hypothesis also draws constants from
# the modules loaded) a run replays.
_SEED = os.environ.get("FUZZ_SEED", "1")
FUZZ_SEED = random.randrange(2**32) if _SEED == "random" else int(_SEED)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ALERT_PATHS = {
    "/api/v1/alerts/alertmanager/": AlertSourceKind.ALERTMANAGER,
    "/api/v1/alerts/": AlertSourceKind.GENERIC,
}

# Values drawn now and then instead of generated ones. Keys of rows `fuzz_world` makes, so that requests
# get past the 404 to the rules; and values that break storage rather than rules (NUL characters, which
# PostgreSQL refuses; text over a column's length; integers over a column's range; moments and durations
# at the calendar's edges). Schemathesis sends each one only where it matches (or, for negative cases,
# violates) the field's schema.
INCIDENT_NUMBERS = [f"INC-{n:06d}" for n in range(1, 10)]
SERVICE_SLUGS = ["ceph", "network", "retired"]
HOSTILE_TEXT = ["", " ", "\x00", "a\x00b", "x" * 300, "é" * 5000, "INC-000001", "ceph", "fuzz-manager"]
DICTIONARIES = {
    "incident-numbers": {"values": INCIDENT_NUMBERS},
    "service-slugs": {"values": SERVICE_SLUGS},
    "severities": {"values": ["S1", "S2", "S3", "S4"]},
    "small-ids": {"values": list(range(1, 25))},
    "keys": {"values": [*INCIDENT_NUMBERS[:3], *SERVICE_SLUGS, "fuzz-manager", "PRB-000001", *HOSTILE_TEXT]},
    "text": {"values": HOSTILE_TEXT},
    "integers": {"values": [-1, 0, 1, 1000, 1001, 32767, 32768, 2**31, 2**63, 10**30]},
    "durations": {"values": ["00:15:00", "0", "-1 00:00:00", "366 00:00:00", "999999999 23:59:59"]},
    "moments": {
        "values": [
            "2025-03-04T09:12:31Z",
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "2999-01-01T00:00:00Z",
        ]
    },
}
BINDINGS = {
    "path.number": ("incident-numbers", 0.8),
    "path.slug": ("service-slugs", 0.8),
    "path.severity": ("severities", 0.8),
    "path.step_id": ("small-ids", 0.5),
    "query.at": ("moments", 0.3),
    **{
        f"body.{field}": ("keys", 0.3)
        for field in ("service", "assignee", "problem", "parent", "steps[*].notify_group", "username")
    },
    **{
        f"body.{field}": ("text", 0.2)
        for field in (
            "title",
            "description",
            "note",
            "reason",
            "body",
            "message",
            "change_ref",
            "severity_reason",
            "resolution_notes",
            "fingerprint",
            "password",
        )
    },
    **{f"body.{field}": ("integers", 0.3) for field in ("steps[*].order", "steps[*].percent")},
    **{
        f"body.{field}": ("durations", 0.3)
        for field in ("steps[*].offset", "response_target", "resolution_target")
    },
    **{
        f"body.{field}": ("moments", 0.3)
        for field in ("detected_at", "starts_at", "alerts[*].startsAt", "alerts[*].endsAt")
    },
}


@pytest.fixture
def _no_throttling(monkeypatch):
    """Thousands of requests in a minute are the point here; no rate (None) lets every request through."""
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"user": None, "anon": None, "alert_source": None}
    )


@pytest.fixture
def _keep_db_connection():
    """Requests go through the real WSGI handler, which closes the database connection after each one:
    that would end the test's transaction (on PostgreSQL). Django's test client unhooks it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(db, _no_throttling, _keep_db_connection):
    """Realistic data for generated requests to land on: services, incidents in every state (with their
    checklists, a comment, a problem), an on-call rotation with an override, an Incident Manager's API
    token and alert sources with known tokens (INCIDENT_NUMBERS, SERVICE_SLUGS name these rows)."""
    manager = make_user(Role.INCIDENT_MANAGERS, username="fuzz-manager")
    ceph = ServiceFactory(slug="ceph", name="Ceph storage")
    ServiceFactory(slug="network", name="Lab network")
    ServiceFactory(slug="retired", name="Old cluster", is_active=False)
    for state in ("logged", "classified", "investigating", "on_hold", "resolved", "closed", "cancelled"):
        incident_in(state, manager=manager, service=ceph, title=f"Ceph OSD down ({state})")
    incident = incident_in("investigating", manager=manager, urgency="medium", impact="low")
    services.comment_add(incident=incident, user=manager, body="Checked the cabling", visibility="public")
    services.problem_create(user=manager, title="Flaky OSD firmware")
    sysadmins, _ = Rotation.objects.get_or_create(kind=RotationKind.TIER2, defaults={"name": "Sysadmins"})
    for order, name in enumerate(("fuzz-sa1", "fuzz-sa2")):
        RotationMember.objects.create(
            rotation=sysadmins, user=make_user(Role.SYSADMINS, username=name), order=order
        )
    RotationOverride.objects.create(
        rotation=sysadmins, user=manager, starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=1)
    )
    alert_tokens = {
        kind: make_source(f"Fuzz {kind}", kind=kind, default_service=ceph)[1] for kind in AlertSourceKind
    }
    return {"token": Token.objects.create(user=manager).key, "alert_tokens": alert_tokens}


# Loaded once, at collection, from the app itself (no server): what the API says about itself is the spec.
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/schema/?format=json",
    WSGIHandler(),
    config=schemathesis.Config.from_dict(
        {
            "generation": {
                "max-examples": FUZZ_EXAMPLES,
                # Query strings (search, filters, dates, pages) get the same treatment.
                "dictionaries": {
                    "string": {"dictionary": "text", "probability": 0.2},
                    "integer": {"dictionary": "integers", "probability": 0.2},
                },
                "database": "none",
                # Credentials are sent by the test; generated ones would only test the 401.
                "with-security-parameters": False,
            },
            "phases": {"stateful": {"enabled": False}},
            "dictionaries": DICTIONARIES,
            "parameters": {
                key: {"dictionary": name, "probability": probability}
                for key, (name, probability) in BINDINGS.items()
            },
            "seed": FUZZ_SEED,
        }
    ),
)


@schema.parametrize()
# One seeded world per operation, shared by its examples: requests are meant to pile up on it.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_input_breaks_the_api(case, fuzz_world):
    kind = ALERT_PATHS.get(case.path)
    if kind is None:
        authorization = f"Token {fuzz_world['token']}"
    else:
        authorization = f"Bearer {fuzz_world['alert_tokens'][kind]}"
    try:
        case.call_and_validate(headers={"Authorization": authorization}, checks=CHECKS)
    except Exception as exc:
        exc.add_note(f"Replay: FUZZ_SEED={FUZZ_SEED} FUZZ_EXAMPLES={FUZZ_EXAMPLES}")
        raise
