"""The site-wide Content-Security-Policy (itsm.csp) in Chromium: the admin's pages, with the workbench's
own scripts and styles, and the API docs work under it, and the browser reports no violation. A page that
tried to run inline script or load from elsewhere would show up here as a `securitypolicyviolation`."""

from urllib.parse import urlsplit

import pytest

from incidents.choices import Role, State
from tests.browser import admin_login
from tests.factories import incident_in, make_user

pytestmark = pytest.mark.browser

# Collects every violation the page reports, from the first script on (an init script is not itself
# subject to the page's policy).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def violations(page):
    """The violations reported on each page visited (events and the console's "Refused to ..." lines)."""
    console: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda message: "Refused to" in message.text and console.append(message.text))

    def after(url: str, ready: str) -> list[str]:
        page.goto(url)
        page.locator(ready).first.wait_for()
        page.wait_for_load_state("networkidle")
        found = page.evaluate("window.__cspViolations") + console[:]
        console.clear()
        return found

    return after


def test_the_admin_and_the_api_docs_run_under_the_policy(page, live_site, violations):
    manager = make_user(Role.INCIDENT_MANAGERS, username="manager")
    incident = incident_in(State.INVESTIGATING, manager=manager)
    admin_login(page, manager)

    assert violations("/admin/", "#content") == []
    assert violations("/admin/incidents/incident/", "#result_list") == []
    # The incident page: clocks, the unsaved-edit guard, the type-by-category script, inlines.
    assert violations(f"/admin/incidents/incident/{incident.pk}/change/", "[data-transition]") == []
    assert violations("/admin/incidents/incident/add/", "#id_title") == []
    assert violations("/api/v1/docs/", ".opblock-summary-path") == []


def test_redoc_is_refused_only_what_lies_outside_the_site(page, live_site, violations):
    """ReDoc's side menu links its vendor's logo from a CDN: the policy stops that load (by design), and
    nothing of the site's own."""
    make_user(Role.SERVICE_DESK, username="desk")
    found = violations("/api/v1/redoc/", "h1")
    site = urlsplit(live_site).netloc
    # The logo's refusal is reported: the listener sees violations (so the empty lists above mean none).
    assert any(violation.startswith("img-src http") for violation in found), found
    for violation in found:
        _, _, blocked = violation.partition(" ")
        assert blocked.startswith("http") and urlsplit(blocked).netloc != site, violation
