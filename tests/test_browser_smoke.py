"""The first browser test (issue #9, item 9): the Service Desk signs in to the admin, then reads the API
docs, Swagger UI and ReDoc, which render from the site's own static files with every request outside the
site refused (item 7: they work in a lab network without internet). Screenshots: var/test-artifacts/."""

from urllib.parse import urlsplit

import pytest

from incidents.choices import Role
from tests.browser import admin_login, shot
from tests.factories import make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def offline(page, live_site):
    """Refuse every request that leaves the live site, as a lab network without internet would. Its value:
    the refused URLs and the page's errors (uncaught exceptions, console errors). A load the page's
    Content-Security-Policy stopped in the browser (ReDoc's vendor logo) is no error: no request left."""
    site = urlsplit(live_site).netloc
    refused, errors = [], []

    def only_the_site(route):
        if urlsplit(route.request.url).netloc == site:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_the_site)
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message):
        if message.type == "error" and "violates the following Content Security Policy" not in message.text:
            errors.append(message.text)

    page.on("console", console)
    return refused, errors


def test_service_desk_signs_in_and_reads_the_api_docs_offline(page, offline):
    refused, errors = offline
    desk = make_user(Role.SERVICE_DESK, username="desk")

    admin_login(page, desk)
    assert "desk" in page.locator("#user-tools").inner_text().lower()
    assert page.locator("#content").is_visible()
    shot(page, "smoke/01-admin-home-service-desk")

    page.goto("/api/v1/docs/")
    operations = page.locator(".opblock-summary-path")
    operations.first.wait_for()  # Swagger UI drew the operations it read from /api/v1/schema/
    assert operations.count() > 10
    assert page.locator(".opblock-summary-path[data-path='/api/v1/incidents/']").count() >= 1
    shot(page, "smoke/02-api-docs-swagger-ui")

    page.goto("/api/v1/redoc/")
    page.get_by_role("heading", name="itsm API", level=1).wait_for()  # ReDoc drew the schema
    assert page.get_by_text("/api/v1/incidents/").count() >= 1
    shot(page, "smoke/03-api-docs-redoc")

    assert refused == [], "the docs reached outside the site"
    assert errors == []
