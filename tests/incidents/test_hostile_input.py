"""Hostile input at every edge (issue #8, item 6): every one is a 400 (or 413) that names the problem, never a
500, and the rule lives in the services so the admin, the API, the CSV import and the commands share it.

Run on PostgreSQL too: it refuses NUL characters in text, which is where the 500s came from."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.apps import apps
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from escalation import services as escalation_services
from incidents import services
from incidents.api.parsers import MAX_JSON_DEPTH, json_depth_exceeds
from incidents.choices import AlertSourceKind, Source, State
from incidents.csv_io import COLUMNS, CsvRejected, import_incidents
from incidents.exceptions import PermissionDenied, ValidationError
from incidents.models import Incident, SlaPolicy
from tests.factories import INVESTIGATION, ServiceFactory, incident_in
from tests.incidents.alerting import GENERIC_URL, make_source
from tests.incidents.test_admin import change_form_data

pytestmark = pytest.mark.django_db

HEADER_INJECTION = "pve-07 down\r\nBcc: x@evil"


def nested(depth: int, inner: str = '"x"') -> str:
    return "[" * depth + inner + "]" * depth


def titled(value: str) -> str:
    """A JSON object whose title is `value` (raw JSON text)."""
    return '{"title": ' + value + "}"


def errors_of(response) -> dict:
    body = response.json()
    assert body["code"] == "invalid", body
    return body["errors"]


# --- 1. JSON nesting and body size ------------------------------------------------------------------------


def _body_endpoints(number: str) -> list[tuple[str, str]]:
    return [
        ("post", "/api/v1/incidents/"),
        ("patch", f"/api/v1/incidents/{number}/"),
        ("post", f"/api/v1/incidents/{number}/comments/"),
        ("post", f"/api/v1/incidents/{number}/classify/"),
        ("put", "/api/v1/sla-policies/S1/"),
        ("put", "/api/v1/escalation-policies/S1/"),
        ("post", f"/api/v1/incidents/{number}/escalate/"),
    ]


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_json_is_a_400_on_every_endpoint(api_as, manager, depth):
    client = api_as(manager)
    number = incident_in(State.LOGGED, manager=manager).number
    body = titled(nested(depth))
    for method, path in _body_endpoints(number):
        response = getattr(client, method)(path, body, content_type="application/json")
        assert response.status_code == 400, (path, response.content[:200])
        assert response.json() == {
            "detail": f"JSON nested deeper than {MAX_JSON_DEPTH} levels.",
            "code": "parse_error",
        }


def test_deeply_nested_json_to_the_token_endpoint_is_a_400(api):
    # An anonymous endpoint with parsers of its own in DRF: it must use the bounded ones too.
    body = '{"username": "someone", "password": ' + nested(1000) + "}"
    response = api.post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_nesting_up_to_the_limit_reaches_the_serializer(api_as, manager):
    client = api_as(manager)
    at_limit = titled(nested(MAX_JSON_DEPTH - 1))  # the object is level 1
    response = client.post("/api/v1/incidents/", at_limit, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "title" in response.json()["errors"]

    past = titled(nested(MAX_JSON_DEPTH))
    response = client.post("/api/v1/incidents/", past, content_type="application/json")
    assert response.json()["code"] == "parse_error"


def test_brackets_inside_strings_do_not_count(api_as, manager):
    client = api_as(manager)
    title = '[[[{{{ "quoted \\" [[[' + "[" * 100
    response = client.post("/api/v1/incidents/", {"title": title[:200]}, format="json")
    assert response.status_code == 201, response.content
    assert Incident.objects.get().title == title[:200]


def test_the_depth_scan_does_not_recurse():
    assert json_depth_exceeds("[" * 1_000_000, MAX_JSON_DEPTH)
    assert not json_depth_exceeds('{"a": "' + "[" * 1_000_000 + '"}', MAX_JSON_DEPTH)
    assert not json_depth_exceeds('["\\\\", ["\\"]]"]]', 2)  # escaped backslash, then an escaped quote
    assert json_depth_exceeds('["\\\\", [["x"]]]', 2)


def test_a_two_megabyte_body_is_a_413(api_as, outsider):
    client = api_as(outsider)
    body = json.dumps({"title": "Feed down", "description": "x" * (2 * 1024 * 1024)})
    response = client.post("/api/v1/incidents/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert "at most 1048576 bytes" in response.json()["detail"]
    # The API reads JSON only: a form body is refused for its type, unread, whatever its size.
    form = client.post(
        "/api/v1/incidents/",
        f"title=Feed+down&description={'x' * (2 * 1024 * 1024)}",
        content_type="application/x-www-form-urlencoded",
    )
    assert form.status_code == 415
    assert form.json()["code"] == "unsupported_media_type"
    assert not Incident.objects.exists()


def test_the_body_limit_is_a_setting_and_alert_intake_keeps_its_own(api_as, outsider, settings):
    settings.API_MAX_BODY_BYTES = 2000
    response = api_as(outsider).post(
        "/api/v1/incidents/", {"title": "Feed down", "description": "x" * 3000}, format="json"
    )
    assert response.status_code == 413

    ServiceFactory(slug="ceph")
    _, token = make_source("Zabbix", kind=AlertSourceKind.GENERIC)
    alert = json.dumps({"title": "Disk full", "service": "ceph", "description": "x" * 3000})
    intake = api_as(outsider)
    intake.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = intake.post(GENERIC_URL, alert, content_type="application/json")
    assert response.status_code == 200, response.content


# --- 2. NUL characters in query strings and CSV cells -------------------------------------------------------


def _changelists():
    models = [m for m in apps.get_models() if admin.site.is_registered(m)]
    return [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in models]


@pytest.mark.parametrize("query", ["q=%00", "q=a%00b", "state=%00", "status=x%00", "%00=1"])
def test_nul_in_any_admin_changelist_query_is_a_400(client, django_user_model, query):
    client.force_login(django_user_model.objects.create_superuser("root", "root@lab.example", "pw"))
    incident_in(State.LOGGED)
    for url in _changelists():
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, url
        assert b"Query parameters may not contain NUL bytes." in response.content


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/incidents/?state=%00", "state"),
        ("/api/v1/incidents/?search=a%00b", "search"),
        ("/api/v1/incidents/?ordering=%00", "ordering"),
        ("/api/v1/services/?search=%00", "search"),
        ("/api/v1/escalation-policies/?x=%00", "x"),
    ],
)
def test_nul_in_an_api_query_is_a_400_naming_the_parameter(api_as, manager, path, parameter):
    ServiceFactory(slug="ceph")
    response = api_as(manager).get(path)
    assert response.status_code == 400
    assert errors_of(response) == {parameter: ["Query parameters may not contain NUL bytes."]}


def _csv(**cells) -> str:
    row = {
        "number": "INC-000700",
        "title": "SDR-2 feed silent",
        "service": "sdr-array",
        "state": "logged",
        "detected_at": "2025-10-01T07:50:00+00:00",
        "created_at": "2025-10-01T08:00:00+00:00",
        **cells,
    }
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\r\n")
    out.write(",".join(row.get(column, "") for column in COLUMNS) + "\r\n")
    return out.getvalue()


@pytest.mark.parametrize("column", ["title", "service", "number", "assignee", "state"])
def test_a_csv_cell_with_nul_is_refused_by_the_dry_run_and_the_real_run_alike(manager, column):
    ServiceFactory(slug="sdr-array")
    value = {"title": "SDR\x00", "service": "sdr-array\x00", "number": "INC-000700\x00"}.get(column, "x\x00")
    text = _csv(**{column: value})
    for dry_run in (True, False):
        with pytest.raises(CsvRejected) as caught:
            import_incidents(stream=io.StringIO(text), user=manager, dry_run=dry_run)
        assert f"row 2: {column}: Null characters are not allowed." in caught.value.messages
    assert not Incident.objects.exists()


def test_the_import_command_refuses_nul_in_both_runs(manager, tmp_path):
    ServiceFactory(slug="sdr-array")
    path = tmp_path / "incidents.csv"
    path.write_text(_csv(title="SDR\x00 feed"), encoding="utf-8")
    for options in ({"dry_run": True}, {}):
        err = io.StringIO()
        with pytest.raises(CommandError, match="1 error; nothing was imported"):
            call_command("import_incidents", str(path), user="manager", stderr=err, **options)
        assert "row 2: title: Null characters are not allowed." in err.getvalue()
    assert not Incident.objects.exists()


# --- 3. Titles one line, free text bounded ------------------------------------------------------------------


def test_a_title_with_a_line_break_is_refused_everywhere(api_as, client, manager, outsider, service_desk):
    response = api_as(outsider).post("/api/v1/incidents/", {"title": HEADER_INJECTION}, format="json")
    assert response.status_code == 400
    assert errors_of(response) == {"title": ["The title must be one line."]}

    incident = incident_in(State.LOGGED, manager=manager)
    response = api_as(manager).patch(
        f"/api/v1/incidents/{incident.number}/", {"title": "a\u2028b"}, format="json"
    )
    assert errors_of(response) == {"title": ["The title must be one line."]}

    client.force_login(service_desk)
    page = client.post(
        reverse("admin:incidents_incident_add"),
        {"title": HEADER_INJECTION, "incident_type": "", "source": "user"},
    )
    assert page.status_code == 200
    assert page.context["adminform"].form.errors == {"title": ["The title must be one line."]}

    with pytest.raises(CsvRejected) as caught:
        import_incidents(stream=io.StringIO(_csv(title='"a\rb"', service="")), user=manager)
    assert "row 2: title: The title must be one line." in caught.value.messages
    assert Incident.objects.count() == 1
    assert not Incident.objects.filter(title__contains="\n").exists()


def test_a_title_over_its_column_is_refused_by_the_service(manager):
    with pytest.raises(ValidationError) as caught:
        services.incident_create(user=manager, title="x" * 201)
    assert caught.value.message_dict == {"title": ["At most 200 characters (this one has 201)."]}


def test_a_description_over_the_default_limit_is_a_400(api_as, outsider):
    response = api_as(outsider).post(
        "/api/v1/incidents/", {"title": "Feed down", "description": "x" * 20_001}, format="json"
    )
    assert response.status_code == 400
    assert errors_of(response) == {"description": ["At most 20000 characters (this one has 20001)."]}
    assert (
        api_as(outsider)
        .post("/api/v1/incidents/", {"title": "Feed down", "description": "x" * 20_000}, format="json")
        .status_code
        == 201
    )


LONG = "y" * 51


@pytest.mark.parametrize(
    ("state", "call", "field"),
    [
        (
            State.LOGGED,
            lambda i, u: services.incident_update(incident=i, user=u, data={"description": LONG}),
            "description",
        ),
        (State.LOGGED, lambda i, u: services.comment_add(incident=i, user=u, body=LONG), "body"),
        (
            State.LOGGED,
            lambda i, u: services.incident_classify(
                incident=i, user=u, category="infrastructure", urgency="low", impact="low", note=LONG
            ),
            "note",
        ),
        (State.CLASSIFIED, lambda i, u: services.incident_investigate(incident=i, user=u, note=LONG), "note"),
        (
            State.INVESTIGATING,
            lambda i, u: services.incident_hold(incident=i, user=u, reason="awaiting_vendor", note=LONG),
            "note",
        ),
        (State.ON_HOLD, lambda i, u: services.incident_resume(incident=i, user=u, note=LONG), "note"),
        (
            State.INVESTIGATING,
            lambda i, u: services.incident_resolve(
                incident=i, user=u, code="fixed", notes=LONG, **INVESTIGATION
            ),
            "resolution_notes",
        ),
        (
            State.INVESTIGATING,
            lambda i, u: services.incident_resolve(
                incident=i, user=u, code="fixed", notes="x", diagnosis=LONG, root_cause="r"
            ),
            "diagnosis",
        ),
        (
            State.INVESTIGATING,
            lambda i, u: services.incident_update(incident=i, user=u, data={"root_cause": LONG}),
            "root_cause",
        ),
        (
            State.INVESTIGATING,
            lambda i, u: services.checklist_item_skip(item=i.checklist.first(), user=u, reason=LONG),
            "reason",
        ),
        (
            State.RESOLVED,
            lambda i, u: services.incident_close(incident=i, user=u, closure_notes="ok", note=LONG),
            "note",
        ),
        (
            State.RESOLVED,
            lambda i, u: services.incident_close(incident=i, user=u, closure_notes=LONG),
            "closure_notes",
        ),
        (State.RESOLVED, lambda i, u: services.incident_reopen(incident=i, user=u, reason=LONG), "reason"),
        (State.LOGGED, lambda i, u: services.incident_cancel(incident=i, user=u, reason=LONG), "reason"),
        (
            State.INVESTIGATING,
            lambda i, u: escalation_services.escalate_tier(incident=i, user=u, reason=LONG),
            "reason",
        ),
        (
            State.INVESTIGATING,
            lambda i, u: escalation_services.send_status_update(incident=i, user=u, message=LONG),
            "message",
        ),
    ],
)
def test_every_free_text_a_service_takes_is_bounded(settings, manager, state, call, field):
    settings.MAX_TEXT_LENGTH = 50
    incident = incident_in(state, manager=manager)
    before = (incident.state, incident.timeline.count())
    with pytest.raises(ValidationError) as caught:
        call(incident, manager)
    assert caught.value.message_dict == {field: ["At most 50 characters (this one has 51)."]}
    incident.refresh_from_db()
    assert (incident.state, incident.timeline.count()) == before


def test_a_long_comment_is_a_400_in_the_api(settings, api_as, manager):
    settings.MAX_TEXT_LENGTH = 50
    incident = incident_in(State.LOGGED, manager=manager)
    response = api_as(manager).post(
        f"/api/v1/incidents/{incident.number}/comments/", {"body": LONG}, format="json"
    )
    assert errors_of(response) == {"body": ["At most 50 characters (this one has 51)."]}
    assert not incident.timeline.filter(kind="comment").exists()


def test_problem_edits_in_the_admin_keep_the_limits_of_problem_create(settings, client, manager):
    settings.MAX_TEXT_LENGTH = 50
    problem = services.problem_create(user=manager, title="OSD firmware bug")
    client.force_login(manager)
    url = reverse("admin:incidents_problem_change", args=[problem.pk])
    fields = {
        "title": "OSD firmware bug",
        "description": "",
        "status": "open",
        "root_cause": "",
        "workaround": "",
    }

    page = client.post(url, {**fields, "title": HEADER_INJECTION, "description": LONG, "root_cause": LONG})
    assert page.status_code == 200
    assert page.context["adminform"].form.errors == {
        "title": ["The title must be one line."],
        "description": ["At most 50 characters (this one has 51)."],
        "root_cause": ["At most 50 characters (this one has 51)."],
    }
    problem.refresh_from_db()
    assert (problem.title, problem.description, problem.history.count()) == ("OSD firmware bug", "", 1)

    page = client.post(url, {**fields, "status": "known_error", "workaround": "Pin firmware 1.2"})
    assert page.status_code == 302
    problem.refresh_from_db()
    assert (problem.status, problem.workaround) == ("known_error", "Pin firmware 1.2")
    latest = problem.history.first()
    assert (latest.history_user, latest.history_change_reason) == (manager, "edited: status, workaround")


def test_problem_update_is_for_those_who_may_change_problems(outsider, manager):
    problem = services.problem_create(user=manager, title="OSD firmware bug")
    with pytest.raises(PermissionDenied):
        services.problem_update(problem=problem, user=outsider, data={"title": "Mine now"})
    with pytest.raises(ValidationError) as caught:
        services.problem_update(problem=problem, user=manager, data={"number": "PRB-999999", "title": " "})
    assert caught.value.message_dict == {
        "number": ["Read-only: not an editable field of a problem record."],
    }
    with pytest.raises(ValidationError) as caught:
        services.problem_update(problem=problem, user=manager, data={"title": " ", "status": "gone"})
    assert caught.value.message_dict == {
        "title": ["This field is required."],
        "status": ["'gone' is not a valid choice; use one of: open, known_error, resolved."],
    }


# --- 5. SLA targets -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response_target", "resolution_target", "errors"),
    [
        (timedelta(microseconds=1), timedelta(hours=4), {"response_target": ["At least 1 minute."]}),
        (timedelta(seconds=59), timedelta(hours=4), {"response_target": ["At least 1 minute."]}),
        (
            timedelta(microseconds=1),
            timedelta(microseconds=1),
            {"response_target": ["At least 1 minute."], "resolution_target": ["At least 1 minute."]},
        ),
        (
            timedelta(minutes=5),
            timedelta(minutes=2),
            {"resolution_target": ["Cannot be shorter than the response target."]},
        ),
        (timedelta(minutes=1), timedelta(days=366), {"resolution_target": ["At most 365 days."]}),
    ],
)
def test_sla_targets_stay_within_sane_bounds(manager, response_target, resolution_target, errors):
    policy = SlaPolicy.objects.get(severity="S1")
    with pytest.raises(ValidationError) as caught:
        services.sla_policy_update(
            policy=policy, user=manager, response_target=response_target, resolution_target=resolution_target
        )
    assert caught.value.message_dict == errors
    policy.refresh_from_db()
    assert policy.response_target == timedelta(minutes=15)


def test_a_one_minute_response_target_is_accepted(manager):
    policy = services.sla_policy_update(
        policy=SlaPolicy.objects.get(severity="S1"),
        user=manager,
        response_target=timedelta(minutes=1),
        resolution_target=timedelta(minutes=1),
    )
    assert policy.response_target == timedelta(minutes=1)


def test_a_microsecond_sla_target_is_refused_in_the_api_and_the_admin(api_as, client, manager):
    response = api_as(manager).put(
        "/api/v1/sla-policies/S1/",
        {"response_target": "00:00:00.000001", "resolution_target": "04:00:00"},
        format="json",
    )
    assert errors_of(response) == {"response_target": ["At least 1 minute."]}

    client.force_login(manager)
    policy = SlaPolicy.objects.get(severity="S1")
    page = client.post(
        reverse("admin:incidents_slapolicy_change", args=[policy.pk]),
        {"response_target": "00:00:00.000001", "resolution_target": "04:00:00"},
    )
    assert page.status_code == 200
    assert page.context["adminform"].form.errors == {"response_target": ["At least 1 minute."]}
    policy.refresh_from_db()
    assert policy.response_target == timedelta(minutes=15)


# --- 6. Detection time --------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOO_EARLY = "Detection can be at most 30 days before logging."


@pytest.fixture
def lab_time():
    with time_machine.travel(NOW, tick=False):
        yield


def test_a_detection_in_year_one_from_a_no_role_account_is_refused(api_as, outsider, lab_time):
    client = api_as(outsider)
    for moment in ("0001-01-01T00:00:00Z", "2026-01-31T08:59:59Z"):
        response = client.post("/api/v1/incidents/", {"title": "Down", "detected_at": moment}, format="json")
        assert response.status_code == 400
        assert errors_of(response) == {"detected_at": [TOO_EARLY]}
    response = client.post(
        "/api/v1/incidents/", {"title": "Down", "detected_at": "2026-01-31T09:00:00Z"}, format="json"
    )
    assert response.status_code == 201
    assert not Incident.objects.filter(detected_at__lt=NOW - timedelta(days=30)).exists()


def test_editing_the_detection_keeps_it_within_the_bound(api_as, manager, lab_time):
    incident = incident_in(State.LOGGED, manager=manager)
    response = api_as(manager).patch(
        f"/api/v1/incidents/{incident.number}/", {"detected_at": "2025-06-01T00:00:00Z"}, format="json"
    )
    assert errors_of(response) == {"detected_at": [TOO_EARLY]}
    incident.refresh_from_db()
    assert incident.detected_at == NOW


OUT_OF_RANGE = [
    "0001-01-01T00:00:00+01:00",  # year 0 in UTC
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:00:00-05:00",  # year 10000 in UTC
    "9999-12-31T23:59:59Z",
]


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
def test_a_detection_at_the_ends_of_the_calendar_is_a_400_in_the_api(postgres, api_as, manager, moment):
    client = api_as(manager)
    response = client.post("/api/v1/incidents/", {"title": "Down", "detected_at": moment}, format="json")
    assert response.status_code == 400, response.content
    assert list(errors_of(response)) == ["detected_at"]
    incident = incident_in(State.LOGGED, manager=manager)
    response = client.patch(f"/api/v1/incidents/{incident.number}/", {"detected_at": moment}, format="json")
    assert response.status_code == 400, response.content
    assert list(errors_of(response)) == ["detected_at"]
    assert client.get("/api/v1/incidents/").status_code == 200


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Pacific/Kiritimati"])
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_detection_at_the_ends_of_the_calendar_is_a_form_error_in_the_admin(
    postgres, settings, client, manager, zone, day
):
    settings.TIME_ZONE = zone
    client.force_login(manager)
    detected = {"detected_at_0": day, "detected_at_1": "23:30:00"}
    page = client.post(
        reverse("admin:incidents_incident_add"),
        {"title": "Down", "incident_type": "", "source": "user", **detected},
    )
    assert page.status_code == 200
    assert list(page.context["adminform"].form.errors) == ["detected_at"]
    incident = incident_in(State.LOGGED, manager=manager)
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    page = client.post(url, change_form_data(client.get(url), **detected))
    assert page.status_code == 200
    assert list(page.context["adminform"].form.errors) == ["detected_at"]
    assert not Incident.objects.exclude(pk=incident.pk).exists()


def test_the_maximum_age_is_a_setting(settings, manager, lab_time):
    settings.DETECTED_AT_MAX_AGE = timedelta(days=2)
    with pytest.raises(ValidationError) as caught:
        services.incident_create(user=manager, title="Down", detected_at=NOW - timedelta(days=3))
    assert caught.value.message_dict == {"detected_at": ["Detection can be at most 2 days before logging."]}


def test_csv_import_bounds_detection_by_each_rows_logging_time(manager):
    ServiceFactory(slug="sdr-array")
    with pytest.raises(CsvRejected) as caught:
        import_incidents(
            stream=io.StringIO(_csv(detected_at="0001-01-01T00:00:00+00:00")), user=manager, dry_run=True
        )
    assert caught.value.messages == [f"row 2: detected_at: {TOO_EARLY}"]
    # Old incidents stay importable: the bound is relative to the row's own logging time.
    result = import_incidents(stream=io.StringIO(_csv()), user=manager)
    assert result.created == 1


def test_an_alert_that_started_long_ago_is_logged_at_the_bound(lab_time):
    ServiceFactory(slug="ceph")
    _, token = make_source("Zabbix", kind=AlertSourceKind.GENERIC)
    intake = APIClient()
    intake.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = intake.post(
        GENERIC_URL,
        {"title": "Disk full", "service": "ceph", "starts_at": "2025-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 200, response.content
    incident = Incident.objects.get()
    assert incident.detected_at == NOW - timedelta(days=30) + timedelta(hours=1)
    assert incident.source == Source.MONITORING


# --- 7. source=monitoring ---------------------------------------------------------------------------------

MONITORING_ONLY = "Only alert sources may log monitoring incidents."


def test_only_alert_sources_log_monitoring_incidents(api_as, client, service_desk, manager):
    response = api_as(service_desk).post(
        "/api/v1/incidents/", {"title": "pve-07 down", "source": "monitoring"}, format="json"
    )
    assert response.status_code == 400
    assert errors_of(response) == {"source": [MONITORING_ONLY]}

    incident = incident_in(State.LOGGED, manager=manager)
    response = api_as(manager).patch(
        f"/api/v1/incidents/{incident.number}/", {"source": "monitoring"}, format="json"
    )
    assert errors_of(response) == {"source": [MONITORING_ONLY]}

    client.force_login(service_desk)
    page = client.post(
        reverse("admin:incidents_incident_add"),
        {"title": "pve-07 down", "incident_type": "", "source": "monitoring"},
    )
    assert page.status_code == 200
    assert page.context["adminform"].form.errors == {"source": [MONITORING_ONLY]}
    assert not Incident.objects.filter(source=Source.MONITORING).exists()


def test_an_alert_source_account_logs_monitoring_incidents(db):
    from incidents.alerts import alert_source_account

    source, _ = make_source("Prometheus")
    incident = services.incident_create(
        user=alert_source_account(source=source), title="CephOSDDown", source=Source.MONITORING
    )
    assert incident.source == Source.MONITORING


def test_every_problem_of_one_input_is_named_at_once_and_nothing_is_stored(manager):
    with pytest.raises(ValidationError) as caught:
        services.incident_create(
            user=manager,
            title=HEADER_INJECTION,
            description="x" * 30_000,
            source="monitoring",
            detected_at=timezone.now() - timedelta(days=365),
        )
    assert set(caught.value.message_dict) == {"title", "description", "source", "detected_at"}
    assert not Incident.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/auth/token/", "/admin/login/"])
def test_nul_in_a_header_is_a_400_before_sign_in_records_it(client, path):
    # django-axes stores the User-Agent of a sign-in attempt; PostgreSQL refuses NUL in text (was a 500).
    response = client.post(
        path, {"username": "desk", "password": "wrong"}, HTTP_USER_AGENT="curl\x00/8", follow=False
    )
    assert response.status_code == 400
    assert b"Headers may not contain NUL bytes." in response.content
