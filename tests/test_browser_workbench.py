"""The support workbench in Chromium at 1440x900, as a service desk would use it (issue #9, item 9): the
Service Desk logs and classifies in one submit and finds the incident in *My tier, unassigned*; Tier 2
investigates, holds and resumes, resolves; the Incident Manager closes it. Each user sees only the buttons
they may use; an S1's header shows the response clock; the history and the service-impact report (with its
charts) open. Screenshots of every step: var/test-artifacts/workbench/."""

import re

import pytest

from incidents.choices import Role, State
from incidents.models import Incident
from tests.browser import admin_login, shot
from tests.factories import ServiceFactory, make_user

pytestmark = pytest.mark.browser


def transition_buttons(page) -> set[str]:
    return set(page.locator("[data-transition]").evaluate_all("(bs) => bs.map(b => b.dataset.transition)"))


def sign_in_as(page, user):
    page.context.clear_cookies()
    admin_login(page, user)


def run_transition(page, incident, name: str, fields: dict[str, str] | None = None):
    page.goto(f"/admin/incidents/incident/{incident.pk}/change/")
    page.locator(f"[data-transition={name}]").first.click()
    page.wait_for_url(re.compile(rf"/transition/{name}/$"))
    for selector, value in (fields or {}).items():
        if page.locator(selector).evaluate("(e) => e.tagName") == "SELECT":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)
    shot(page, f"workbench/{name}-form")
    page.click("input[name=_transition]")
    page.wait_for_url(re.compile(rf"/{incident.pk}/change/$"))


def test_an_incident_from_logging_to_closure(page):
    desk = make_user(Role.SERVICE_DESK, username="desk", first_name="Dana", last_name="Desk")
    sysadmin = make_user(Role.SYSADMINS, username="sysadmin", first_name="Sam", last_name="Mills")
    manager = make_user(Role.INCIDENT_MANAGERS, username="manager", first_name="Ines", last_name="Lead")
    boss = make_user(Role.MANAGEMENT, username="boss")
    ServiceFactory(name="Ceph storage", slug="ceph")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # The Service Desk logs and classifies in one submit: an S1, whose header shows the response clock.
    admin_login(page, desk)
    shot(page, "workbench/01-desk-home")
    page.goto("/admin/incidents/incident/add/")
    page.fill("#id_title", "Ceph OSD down on pve-03")
    page.select_option("#id_service", label="Ceph storage")
    page.select_option("#id_category", "infrastructure")
    page.check("#id_urgency_0")  # high
    page.check("#id_impact_0")  # high
    page.locator("#severity-preview").filter(has_text="S1 Critical").wait_for()
    shot(page, "workbench/02-log-and-classify")
    page.click("input[name=_save]")
    page.wait_for_url(re.compile(r"/admin/incidents/incident/\d+/change/$"))
    incident = Incident.objects.get()
    assert (incident.state, incident.severity) == (State.CLASSIFIED, "S1")
    header_badge = page.locator(".itsm-sla-header, #incident-sla, .itsm-badge[data-due]").first
    assert re.search(r"respond in \d+ min", header_badge.inner_text()), header_badge.inner_text()
    assert "Response due" in page.content()
    shot(page, "workbench/03-s1-response-clock")

    # ... and finds it in "My tier, unassigned" on the home page.
    page.goto("/admin/")
    queue = page.locator("#queue-my_tier_unassigned")
    assert queue.locator(".itsm-queue-count").inner_text() == "1"
    queue.locator("a").click()
    page.get_by_role("link", name=incident.number, exact=True).wait_for()
    shot(page, "workbench/04-my-tier-unassigned")

    # Management reads it but has no button to press.
    sign_in_as(page, boss)
    page.goto(f"/admin/incidents/incident/{incident.pk}/change/")
    assert transition_buttons(page) == set()
    shot(page, "workbench/05-management-read-only")

    # Tier 2 investigates, holds and resumes, resolves: only the buttons it may use.
    sign_in_as(page, sysadmin)
    page.goto(f"/admin/incidents/incident/{incident.pk}/change/")
    assert transition_buttons(page) == {"investigate"}
    run_transition(page, incident, "investigate")
    assert transition_buttons(page) == {"hold", "resolve"}
    run_transition(page, incident, "hold", {"#id_reason": "awaiting_vendor", "#id_note": "RMA opened"})
    assert Incident.objects.get(pk=incident.pk).state == State.ON_HOLD
    assert "paused" in page.locator(".itsm-badge[data-due], .itsm-sla-paused").first.inner_text()
    run_transition(page, incident, "resume", {"#id_note": "Disk arrived"})
    run_transition(
        page,
        incident,
        "resolve",
        {
            "#id_resolution_code": "fixed",
            "#id_resolution_notes": "Replaced the failed disk",
            "#id_diagnosis": "osd.7 down: disk media errors",  # an S1: the investigation on record
            "#id_root_cause": "Worn-out disk",
        },
    )
    assert Incident.objects.get(pk=incident.pk).state == State.RESOLVED
    assert "close" not in transition_buttons(page)
    shot(page, "workbench/06-resolved")

    # The Incident Manager closes it from "Resolved, waiting for closure".
    sign_in_as(page, manager)
    page.locator("#queue-awaiting_closure a").click()
    page.get_by_role("link", name=incident.number, exact=True).click()
    run_transition(page, incident, "close", {"#id_closure_notes": "Users confirmed; Ceph healthy for 24 h"})
    assert Incident.objects.get(pk=incident.pk).state == State.CLOSED
    shot(page, "workbench/07-closed")

    # The history tells the story; the service-impact report draws its charts.
    page.goto(f"/admin/incidents/incident/{incident.pk}/history/")
    for step in ("classify", "investigate", "hold", "resume", "resolve", "close"):
        assert page.get_by_text(re.compile(rf"\b{step}\b")).first.is_visible(), step
    shot(page, "workbench/08-history", full_page=True)
    page.goto("/admin/reporting/storedreport/service-impact/")
    charts = page.locator("svg, img[src^='data:image']")
    charts.first.wait_for()
    assert charts.count() >= 1
    shot(page, "workbench/09-service-impact-report", full_page=True)
    assert errors == []
