"""In Chromium at 1440x900 (issue #9): the escalation policy page fits the window, and the on-call schedule's
rotation names are readable (not drawn in the caption's own colour). Screenshots:
var/test-artifacts/escalation/."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from escalation.models import EscalationPolicy, Rotation, RotationMember
from incidents.choices import Role
from tests.browser import admin_login, shot
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_policy_page_fits_and_rotation_names_read(page):
    manager = make_user(Role.INCIDENT_MANAGERS, username="maria", first_name="Maria", last_name="Lopez")
    rotation = Rotation.objects.create(
        name="Service Desk rota",
        kind="tier1",
        shift_length=timedelta(days=7),
        start_date=timezone.localdate() - timedelta(days=3),
    )
    RotationMember.objects.create(rotation=rotation, user=manager, order=0)
    admin_login(page, manager)

    policy = EscalationPolicy.objects.get(severity="S1")
    page.goto(f"/admin/escalation/escalationpolicy/{policy.pk}/change/")
    page.get_by_text("Escalation steps").first.wait_for()
    shot(page, "escalation/01-policy-s1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440

    page.goto("/admin/escalation/rotation/schedule/")
    name = page.get_by_role("link", name="Service Desk rota")
    name.wait_for()
    shot(page, "escalation/02-oncall-schedule")
    colours = name.evaluate(
        """link => [getComputedStyle(link).color,
                    getComputedStyle(link.closest('caption')).backgroundColor]"""
    )
    assert contrast(*colours) >= 3, colours  # WCAG's minimum for large and bold text


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two CSS `rgb(...)` / `rgba(...)` colours."""

    def luminance(css: str) -> float:
        red, green, blue = (int(part) / 255 for part in re.findall(r"[\d.]+", css)[:3])
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
