"""In Chromium (issue #9, items 4 and 5): the *Log incident* form previews the severity as urgency and
impact change and classifies in the same submit; an edit typed before pressing a transition button is
saved; Enter in a field saves rather than pressing a transition; leaving with unsaved edits (or posting a
comment, which would drop them) asks first; the
message preview shows the HTML. Screenshots: var/test-artifacts/log-and-edit/."""

import re

import pytest

from incidents.choices import Role, State
from incidents.models import Incident
from tests.browser import admin_login, shot
from tests.factories import ServiceFactory, incident_in, make_user

pytestmark = pytest.mark.browser


def test_log_classify_and_keep_edits(page):
    desk = make_user(Role.SERVICE_DESK, username="desk")
    ServiceFactory(name="Ceph storage", slug="ceph")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    admin_login(page, desk)

    # Log and classify in one submit, the preview following the choices.
    page.goto("/admin/incidents/incident/add/")
    page.get_by_role("heading", name="Log incident").wait_for()
    page.fill("#id_title", "Ceph OSD down on pve-03")
    page.select_option("#id_service", label="Ceph storage")
    page.select_option("#id_category", "infrastructure")
    page.check("#id_urgency_0")  # high
    page.check("#id_impact_1")  # medium
    preview = page.locator("#severity-preview")
    preview.filter(has_text="S2 High").wait_for()
    assert "Respond within 30 min" in preview.inner_text()
    page.check("#id_impact_0")  # high
    preview.filter(has_text="S1 Critical").wait_for()
    assert "resolve within 4 h" in preview.inner_text()
    shot(page, "log-and-edit/01-log-incident-preview")
    page.click("input[name=_save]")
    page.wait_for_url(re.compile(r"/admin/incidents/incident/\d+/change/$"))
    incident = Incident.objects.get()
    assert (incident.state, incident.severity) == (State.CLASSIFIED, "S1")
    change_url = page.url
    shot(page, "log-and-edit/02-logged-and-classified")

    # An edit typed before pressing Investigate is saved, then the transition's form opens.
    page.fill("#id_description", "HEALTH_WARN: 1 osds down, noticed by the night shift")
    page.click("button[data-transition=investigate]")
    page.wait_for_url(re.compile(r"/transition/investigate/$"))
    assert page.get_by_text("Your edits were saved first (description)").is_visible()
    incident.refresh_from_db()
    assert incident.description == "HEALTH_WARN: 1 osds down, noticed by the night shift"
    shot(page, "log-and-edit/03-edits-saved-before-investigate")

    # Enter in a field saves the page; it does not press the first transition button.
    page.goto(change_url)
    page.fill("#id_title", "Ceph OSD.12 down on pve-03")
    page.press("#id_title", "Enter")
    page.wait_for_url(re.compile(r"/admin/incidents/incident/(\?.*)?$"))
    incident.refresh_from_db()
    assert (incident.title, incident.state) == ("Ceph OSD.12 down on pve-03", State.CLASSIFIED)

    # Leaving with unsaved edits asks first.
    page.goto(change_url)
    page.fill("#id_description", "not saved yet")
    dialogs = []

    def stay(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.click("a.historylink", no_wait_after=True)
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    assert page.url == change_url

    # A comment posts a form of its own: it asks first too, and the comment box alone does not count.
    page.fill("#add-comment textarea", "Called the night shift")
    page.click("#add-comment button[type=submit]", no_wait_after=True)
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload", "beforeunload"]
    assert page.url == change_url
    incident.refresh_from_db()
    assert incident.description != "not saved yet"
    page.remove_listener("dialog", stay)

    # The message preview shows the e-mail's HTML.
    page.goto(change_url.replace("/change/", "/preview/"))
    frame = page.frame_locator("#preview-html")
    frame.get_by_text(incident.number).first.wait_for()
    shot(page, "log-and-edit/04-preview-messages")
    assert errors == []


def test_finished_records_and_who_acts_next(page):
    manager = make_user(Role.INCIDENT_MANAGERS, username="manager")
    boss = make_user(Role.MANAGEMENT, username="boss")
    resolved = incident_in(State.RESOLVED, manager=manager)
    closed = incident_in(State.CLOSED, manager=manager)

    admin_login(page, boss)
    page.goto(f"/admin/incidents/incident/{resolved.pk}/change/")
    waiting = page.locator("#waiting-for")
    assert waiting.inner_text().startswith("Waiting for an Incident Manager to close it")
    assert waiting.is_visible()
    shot(page, "log-and-edit/05-management-sees-who-acts-next")

    page.context.clear_cookies()
    admin_login(page, manager)
    page.goto(f"/admin/incidents/incident/{closed.pk}/change/")
    assert page.locator("input[name=_save]").count() == 0  # read-only
    page.click("#correct-record")
    page.wait_for_url(re.compile(r"/correct/$"))
    page.fill("#id_title", "Ceph OSD.12 down on pve-03")
    page.fill("#id_reason", "Wrong OSD named in the title")
    shot(page, "log-and-edit/06-correct-record")
    page.click("input[type=submit][value='Correct record']")
    page.wait_for_url(re.compile(rf"/{closed.pk}/change/$"))
    assert page.locator(".messagelist").get_by_text("record corrected (title)").is_visible()
    closed.refresh_from_db()
    assert closed.title == "Ceph OSD.12 down on pve-03"
