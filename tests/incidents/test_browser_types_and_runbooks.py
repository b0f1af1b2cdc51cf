"""In Chromium: the classify form offers only the types of the category chosen and explains the severities;
the incident page marks required runbook steps and skips one with a reason. Screenshots:
var/test-artifacts/types-and-runbooks/."""

import pytest

from incidents import services
from incidents.choices import IncidentType, Role, State
from incidents.models import Incident
from tests.browser import admin_login, shot
from tests.factories import incident_in, make_user

pytestmark = pytest.mark.browser


def offered(page) -> list[str]:
    return page.eval_on_selector(
        "#id_incident_type",
        "(select) => Array.from(select.options).filter((o) => o.value && !o.hidden).map((o) => o.value)",
    )


def test_classify_offers_the_types_of_the_category_and_the_incident_page_skips_a_step(page):
    # An Incident Manager: a security incident, once classified, is theirs and the Security Team's to see.
    manager = make_user(Role.INCIDENT_MANAGERS, username="lead")
    incident = incident_in(State.LOGGED, incident_type="")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    admin_login(page, manager)

    page.goto(f"/admin/incidents/incident/{incident.pk}/transition/classify/")
    # No category is chosen for them, so every type is offered; choosing one leaves its types alone.
    assert page.eval_on_selector("#id_category", "(select) => select.value") == ""
    assert len(offered(page)) == len(IncidentType.values)
    page.select_option("#id_category", "infrastructure")
    assert offered(page) == ["host_failure", "network_outage", "infrastructure_other"]
    page.select_option("#id_category", "security")
    assert offered(page) == ["unauthorized_access", "malware", "security_other"]
    page.select_option("#id_incident_type", "malware")
    page.select_option("#id_category", "observatory")  # malware is no observatory type: cleared
    assert offered(page) == ["sdr_failure", "feed_issue", "observatory_other"]
    assert page.eval_on_selector("#id_incident_type", "(select) => select.value") == ""
    page.get_by_text("What the severities mean").click()
    assert page.get_by_text("Complete service outage, broad impact.").is_visible()
    shot(page, "types-and-runbooks/01-classify")

    page.select_option("#id_category", "security")
    page.select_option("#id_incident_type", "malware")
    page.check("#id_urgency_1")  # medium
    page.check("#id_impact_1")  # medium
    page.click("input[name=_transition]")
    page.wait_for_url(f"**/incident/{incident.pk}/change/")
    incident = Incident.objects.get(pk=incident.pk)
    assert (incident.category, incident.incident_type) == ("security", "malware")

    services.incident_investigate(incident=incident, user=manager)
    page.goto(f"/admin/incidents/incident/{incident.pk}/change/")
    assert page.locator(".itsm-required").count() == 2
    page.get_by_role("link", name="Skip…").first.click()
    page.fill("#id_reason", "The node was re-imaged by the vendor before we got to it")
    page.click("input[name=_transition]")
    page.wait_for_url(f"**/incident/{incident.pk}/change/#checklist-group")
    assert "re-imaged by the vendor" in page.locator("#checklist-group").inner_text()
    shot(page, "types-and-runbooks/02-step-skipped")
    assert errors == []
