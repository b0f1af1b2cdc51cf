"""The live SLA countdown in a real browser (issue #9, item 3): the header badge of an S1 shows the response
clock and keeps counting without a reload, turning amber and then red as its due time passes (Playwright's
clock moves the page's time; the server's stays). Screenshots: var/test-artifacts/clocks/."""

import re

import pytest
from django.utils import timezone

from incidents.choices import State
from tests.browser import admin_login, shot
from tests.factories import incident_in

pytestmark = pytest.mark.browser


def test_the_s1_header_counts_down_the_response_clock_without_reloading(page, manager):
    incident = incident_in(State.CLASSIFIED, manager=manager)  # S1: respond within 15 minutes
    page.clock.install(time=timezone.now())
    admin_login(page, manager)
    page.goto(f"/admin/incidents/incident/{incident.pk}/change/")

    badge = page.locator(".itsm-bar .itsm-badge[data-due]")
    assert re.fullmatch(r"respond in 1[45] min", badge.inner_text())
    assert "itsm-sla-ok" in badge.get_attribute("class")
    assert re.search(
        r"Response due \d\d:\d\d \w+ · Resolution due", page.locator(".itsm-due-times").inner_text()
    )
    shot(page, "clocks/01-s1-respond-in")

    page.clock.fast_forward("12:00")  # 12 minutes later: less than a quarter of the 15 minutes left
    assert re.fullmatch(r"respond in [23] min", badge.inner_text())
    assert "itsm-sla-warn" in badge.get_attribute("class")
    shot(page, "clocks/02-s1-amber")

    page.clock.fast_forward("06:00")  # past the due time
    assert re.fullmatch(r"response late [23] min", badge.inner_text())
    classes = badge.get_attribute("class")
    assert "itsm-sla-breach" in classes and "itsm-sla-ok" not in classes and "itsm-sla-warn" not in classes
    shot(page, "clocks/03-s1-response-late")


def test_a_user_sets_their_time_zone_and_sees_times_in_it(page, service_desk):
    incident = incident_in(State.CLASSIFIED, manager=service_desk)
    admin_login(page, service_desk)
    page.click("#preferences-link")
    page.select_option("#id_time_zone", "Asia/Tokyo")
    shot(page, "clocks/04-preferences")
    page.click("#preferences-form input[type=submit]")
    assert "times show in Asia/Tokyo" in page.locator(".messagelist").inner_text()
    page.goto(f"/admin/incidents/incident/{incident.pk}/change/")
    assert re.fullmatch(
        r"Response due \d\d:\d\d JST · Resolution due (\w{3} )?\d\d:\d\d JST",
        page.locator(".itsm-due-times").inner_text(),
    )
    shot(page, "clocks/05-times-in-tokyo")
