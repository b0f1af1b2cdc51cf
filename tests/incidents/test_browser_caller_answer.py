"""In Chromium (issue #10, item 4): the caller answers *Is it fixed?* from the e-mail's links without
signing in. *Confirm it's fixed* shows a page with one button and closes the incident as the caller; the
same link used again says so; *It's not fixed* asks what is still wrong and reopens the incident with those
words. Screenshots: var/test-artifacts/caller-answer/."""

import re
from urllib.parse import urlsplit

import pytest

from escalation.models import Notification
from incidents.choices import ClosedBy, State
from incidents.models import Incident
from tests.browser import shot
from tests.factories import incident_in

pytestmark = pytest.mark.browser

CONTACT = {"caller_name": "Bo Lind", "caller_email": "bo@uni.example"}


def links_sent_to_bo(incident) -> dict[str, str]:
    """The paths of the two links in the Fix confirmation request Bo received."""
    body = Notification.objects.get(
        incident=incident, template="closure_request", recipient=CONTACT["caller_email"]
    ).body
    paths = [urlsplit(url).path for url in re.findall(r"https?://\S+/(?:confirm|not-fixed)/\S+/", body)]
    return {path.split("/")[1]: path for path in paths}


def test_the_caller_confirms_the_fix_once_and_reports_another_not_fixed(page, manager):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    fixed = incident_in(
        State.RESOLVED, manager=manager, urgency="low", impact="low", title="VPN drops", **CONTACT
    )
    broken = incident_in(
        State.RESOLVED, manager=manager, urgency="low", impact="low", title="Wiki slow", **CONTACT
    )

    confirm = links_sent_to_bo(fixed)["confirm"]
    page.goto(confirm)  # opening the link changes nothing: a link scanner must not close incidents
    page.get_by_role("heading", name="Is it fixed for you?").wait_for()
    assert Incident.objects.get(pk=fixed.pk).state == State.RESOLVED
    shot(page, "caller-answer/01-confirm-page")
    page.get_by_role("button").click()
    page.get_by_role("heading", name=f"Thank you: {fixed.number} is closed").wait_for()
    fixed.refresh_from_db()
    assert (fixed.state, fixed.closed_by) == (State.CLOSED, ClosedBy.CALLER)
    shot(page, "caller-answer/02-confirmed")

    page.goto(confirm)
    page.get_by_role("heading", name="This link can no longer be used").wait_for()
    assert f"{fixed.number} is closed already" in page.content()
    shot(page, "caller-answer/03-used-again")

    page.goto(links_sent_to_bo(broken)["not-fixed"])
    page.get_by_role("heading", name="What is still wrong?").wait_for()
    page.locator("textarea").fill("Pages still take 20 s to load after lunch.")
    shot(page, "caller-answer/04-not-fixed-form")
    page.get_by_role("button").click()
    page.get_by_role("heading", name=f"Thank you: {broken.number} is reopened").wait_for()
    broken.refresh_from_db()
    assert broken.state == State.INVESTIGATING and broken.reopen_count == 1
    assert broken.timeline.filter(note__contains="Pages still take 20 s to load after lunch.").exists()
    assert errors == []
