"""Browser tests: Playwright for Python driving Debian's Chromium, headless (`/usr/bin/chromium`, which
`.ci/run` installs with apt when it is missing). Never a browser build of Playwright's own: nothing here
runs `playwright install`.

Loaded for every test module by `tests/conftest.py` (`pytest_plugins`). What a browser test uses:

- `page`: a new page at 1440x900 in a fresh browser context (no cookies), its base URL the live site, so
  `page.goto("/admin/")` works. A failing test leaves a screenshot of it in `var/test-artifacts/failed/`.
- `live_site`: pytest-django's `live_server` on 127.0.0.1 with a transactional database and the reference
  data seeded (roles, SLA policies, escalation policies); its base URL.
- `admin_login(page, user)`: signs in through the admin's login form (test users' password by default).
- `shot(page, name)`: saves a screenshot (1440x900, or `full_page=True`) as `var/test-artifacts/<name>.png`.

One Chromium serves the whole session; each test gets its own context. Tests that use `page` (or
`chromium`) carry the `browser` marker (`pytest -m "not browser"` leaves them out) and run after all the
others: Playwright's sync API marks an asyncio loop as running in the main thread for as long as it is
started, which Django's guard against the ORM in async code (and any asyncio user) would trip over, so it
starts with the first browser test and only browser tests follow it (DJANGO_ALLOW_ASYNC_UNSAFE is set
meanwhile: the tests' ORM calls are plain synchronous code between browser calls). Without
/usr/bin/chromium (or the playwright package) they skip with the reason, and fail under CI=true.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}
ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"
PASSWORD = "pw-for-tests-only"  # tests.factories.UserFactory
BROWSER_FIXTURES = {"page", "chromium"}


def pytest_configure(config):
    # pytest-django's live server listens on "localhost" unless told; these tests use 127.0.0.1.
    if not config.getoption("liveserver", default=None) and not os.environ.get(
        "DJANGO_LIVE_TEST_SERVER_ADDRESS"
    ):
        config.option.liveserver = "127.0.0.1"


def pytest_collection_modifyitems(items):
    """Browser tests carry the `browser` marker and run last (see the module's docstring)."""
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
    in_browser = [item for item in items if item.get_closest_marker("browser")]
    others = [item for item in items if not item.get_closest_marker("browser")]
    items[:] = others + in_browser


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_test_failed = report.failed
    return report


def _missing(reason: str):
    """Skip with the reason on a developer's machine; in CI (CI=true) a missing browser is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """One headless Chromium (Debian's) for the whole session."""
    if not CHROMIUM.exists():
        _missing(f"needs Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("needs the playwright package: pip install -e '.[dev]'")
    allow_async_unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if allow_async_unsafe is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = allow_async_unsafe


@pytest.fixture
def live_site(live_server, transactional_db) -> str:
    """The site served on 127.0.0.1 with a transactional database (the server thread sees what the test
    writes) and the reference data the migrations seed, which a transactional test's flush removes."""
    from escalation.reference_data import seed_escalation_data
    from incidents.reference_data import seed_reference_data

    seed_reference_data(apps)
    seed_escalation_data(apps)
    return live_server.url


@pytest.fixture
def page(chromium, live_site, request) -> Iterator:
    context = chromium.new_context(viewport=VIEWPORT, base_url=live_site, locale="en-GB")
    context.set_default_timeout(30_000)  # a wait ends as soon as its condition holds; CI may be busy
    page = context.new_page()
    try:
        yield page
    finally:
        if getattr(request.node, "browser_test_failed", False):
            with contextlib.suppress(Exception):  # a page that cannot be drawn must not hide the failure
                shot(page, f"failed/{_safe_name(request.node.nodeid)}", full_page=True)
        context.close()


def admin_login(page, user, *, password: str = PASSWORD) -> None:
    """Sign in through the admin's login form as `user` (a User or a username); lands on the admin home."""
    username = getattr(user, "username", user)
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))


def shot(page, name: str, *, full_page: bool = False) -> Path:
    """A screenshot of what a person sees at 1440x900 (or of the whole page) as
    var/test-artifacts/<name>.png (ignored by git); returns its path."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page)
    return path


def _safe_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")
