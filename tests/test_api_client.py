"""A client nobody here wrote: openapi-python-client generates a Python package from the live schema
(`/api/v1/schema/` served by the test server), every operation of it must import, and the incident lifecycle
runs through it against the same server.

What used to break such clients: request bodies declared as JSON, form and multipart at once (the generator
emitted code that fails to import), and `auth/token/` declaring that it needs a token. The client is
generated once per session. Without the generator the tests skip with the reason; under CI=true they fail.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from incidents.choices import Role, State
from incidents.models import Incident
from tests.factories import ServiceFactory, incident_in, make_user

PASSWORD = "pw-for-tests-only"  # tests.factories.UserFactory
PACKAGE = "itsm_client"
# No post-generation hooks: the generator would run ruff from PATH, which is not what is under test.
GENERATOR_CONFIG = f"post_hooks: []\nproject_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\n"
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def _missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the generated-client tests must run)", pytrace=False)
    pytest.skip(reason)


def _generator() -> Path:
    try:
        import openapi_python_client  # noqa: F401
    except ImportError:
        _missing("needs openapi-python-client: pip install -e '.[dev]'")
    return Path(sys.executable).with_name("openapi-python-client")


def _operation_ids(schema: dict) -> list[str]:
    return [
        operation["operationId"]
        for item in schema["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


@pytest.fixture(scope="session")
def live_schema(live_server, django_db_blocker) -> dict:
    with django_db_blocker.unblock():  # the server thread may touch the database while answering
        response = httpx.get(f"{live_server.url}/api/v1/schema/", params={"format": "json"}, timeout=60)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="session")
def generated(live_schema, tmp_path_factory) -> Iterator[ModuleType]:
    """The client package generated from the live schema, importable as `itsm_client`."""
    generator = _generator()
    workdir = tmp_path_factory.mktemp("client")
    (workdir / "schema.json").write_text(json.dumps(live_schema))
    (workdir / "config.yaml").write_text(GENERATOR_CONFIG)
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(workdir / "schema.json"),
            "--output-path",
            str(workdir / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(workdir / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The generator skips what it cannot model and says so, still exiting 0.
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _operation_modules(package: ModuleType) -> list[str]:
    api = importlib.import_module(f"{package.__name__}.api")
    return [
        info.name for info in pkgutil.walk_packages(api.__path__, prefix=f"{api.__name__}.") if not info.ispkg
    ]


def test_every_operation_of_the_schema_imports(generated, live_schema):
    operation_ids = _operation_ids(live_schema)
    modules = _operation_modules(generated)
    failures = {}
    for name in modules:
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # what a client's user would hit: name it, then fail
            failures[name] = repr(exc)
            continue
        assert callable(getattr(module, "sync_detailed", None)), name
    assert not failures, failures
    # One module per operation: the generator skipped none.
    assert sorted(name.rsplit(".", 1)[-1] for name in modules) == sorted(operation_ids)
    assert len(operation_ids) >= 36


def test_request_bodies_are_json_only_and_the_token_endpoint_is_open(live_schema):
    bodies = {
        operation["operationId"]: sorted(operation["requestBody"]["content"])
        for item in live_schema["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS and "requestBody" in operation
    }
    assert bodies, "the schema declares no request body at all"
    assert {op: types for op, types in bodies.items() if types != ["application/json"]} == {}
    token = live_schema["paths"]["/api/v1/auth/token/"]["post"]
    assert token["security"] == [{}]
    assert "401" not in token["responses"]  # no credentials are read, so none can be refused


def _sign_in(generated, base_url: str, username: str):
    from itsm_client.api.auth import auth_token_create
    from itsm_client.models import AuthTokenRequest

    anonymous = generated.Client(base_url=base_url, raise_on_unexpected_status=True)
    token = auth_token_create.sync(
        client=anonymous, body=AuthTokenRequest(username=username, password=PASSWORD)
    )
    assert token is not None and token.token, token
    return generated.AuthenticatedClient(
        base_url=base_url, token=token.token, prefix="Token", raise_on_unexpected_status=True
    )


def test_the_lifecycle_through_the_generated_client(generated, live_site):
    from itsm_client import models
    from itsm_client.api.incidents import (
        incidents_classify_create,
        incidents_close_create,
        incidents_create,
        incidents_investigate_create,
        incidents_resolve_create,
        incidents_retrieve,
    )
    from itsm_client.models import (
        CategoryEnum,
        ClassifyInputRequest,
        CloseInputRequest,
        IncidentCreateRequest,
        InvestigateInputRequest,
        LevelEnum,
        ResolutionCodeEnum,
        ResolveInputRequest,
        StateEnum,
    )

    ServiceFactory(slug="ceph", name="Ceph storage")
    make_user(Role.SERVICE_DESK, username="desk")
    make_user(Role.SYSADMINS, username="sysadmin")
    make_user(Role.INCIDENT_MANAGERS, username="manager")
    desk = _sign_in(generated, live_site, "desk")
    sysadmin = _sign_in(generated, live_site, "sysadmin")
    manager = _sign_in(generated, live_site, "manager")

    created = incidents_create.sync(
        client=desk, body=IncidentCreateRequest(title="osd.7 down", service="ceph")
    )
    assert isinstance(created, models.Incident), created
    assert created.state == StateEnum.LOGGED
    number = created.number

    classified = incidents_classify_create.sync(
        number,
        client=desk,
        body=ClassifyInputRequest(
            category=CategoryEnum.INFRASTRUCTURE, urgency=LevelEnum.LOW, impact=LevelEnum.LOW
        ),
    )
    assert isinstance(classified, models.Incident), classified
    assert (classified.state, classified.severity) == (StateEnum.CLASSIFIED, "S4")

    investigating = incidents_investigate_create.sync(
        number, client=sysadmin, body=InvestigateInputRequest(note="Looking at the OSD's disk")
    )
    assert isinstance(investigating, models.Incident), investigating
    assert investigating.state == StateEnum.INVESTIGATING
    assert investigating.assignee == "sysadmin"

    resolved = incidents_resolve_create.sync(
        number,
        client=sysadmin,
        body=ResolveInputRequest(
            resolution_code=ResolutionCodeEnum.FIXED, resolution_notes="Replaced the disk; osd.7 is up"
        ),
    )
    assert isinstance(resolved, models.Incident), resolved
    assert resolved.state == StateEnum.RESOLVED

    closed = incidents_close_create.sync(
        number, client=manager, body=CloseInputRequest(closure_notes="Disk replaced under warranty.")
    )
    assert isinstance(closed, models.Incident), closed
    assert closed.state == StateEnum.CLOSED

    fetched = incidents_retrieve.sync(number, client=desk)
    assert isinstance(fetched, models.Incident) and fetched.state == StateEnum.CLOSED
    assert Incident.objects.get(number=number).state == State.CLOSED


def test_reads_parse_through_the_generated_client(generated, live_site):
    """Every read an integration needs parses into the generated models (no field the schema misdeclares)."""
    from itsm_client import models
    from itsm_client.api.escalation import (
        escalation_policies_list,
        escalation_policies_retrieve,
        incidents_escalations_list,
        oncall_list,
    )
    from itsm_client.api.incidents import (
        incidents_checklist_list,
        incidents_history_list,
        incidents_list,
        incidents_retrieve,
        incidents_timeline_list,
        incidents_transitions_list,
    )
    from itsm_client.api.reference_data import (
        services_list,
        services_retrieve,
        sla_policies_list,
        sla_policies_retrieve,
    )
    from itsm_client.api.reports import kpis_retrieve, reports_service_impact_retrieve

    make_user(Role.INCIDENT_MANAGERS, username="manager")
    incident = incident_in(State.CLOSED, service=ServiceFactory(slug="ceph", name="Ceph storage"))
    client = _sign_in(generated, live_site, "manager")
    number = incident.number
    results = {
        "list": incidents_list.sync(client=client),
        "retrieve": incidents_retrieve.sync(number, client=client),
        "timeline": incidents_timeline_list.sync(number, client=client),
        "history": incidents_history_list.sync(number, client=client),
        "transitions": incidents_transitions_list.sync(number, client=client),
        "checklist": incidents_checklist_list.sync(number, client=client),
        "escalations": incidents_escalations_list.sync(number, client=client),
        "services": services_list.sync(client=client),
        "service": services_retrieve.sync("ceph", client=client),
        "sla_policies": sla_policies_list.sync(client=client),
        "sla_policy": sla_policies_retrieve.sync("S1", client=client),
        "escalation_policies": escalation_policies_list.sync(client=client),
        "escalation_policy": escalation_policies_retrieve.sync("S1", client=client),
        "oncall": oncall_list.sync(client=client),
        "kpis": kpis_retrieve.sync(client=client, start="2026-01-01", end="2026-02-01"),
        "service_impact": reports_service_impact_retrieve.sync(client=client, month="2026-01"),
    }
    for name, result in results.items():
        assert result is not None and not isinstance(result, models.Error), (name, result)
    assert number in [listed.number for listed in results["list"].results]
    assert results["retrieve"].state == models.StateEnum.CLOSED
    assert results["timeline"] and results["history"], "the record reads back"
    assert results["service"].slug == "ceph" and results["sla_policy"].severity == "S1"
    assert results["escalation_policy"].steps, "the default policy's steps"
