"""Seed 3.2: one table drives the severity matrix, through the rule and through classification."""

import pytest

from incidents import services
from incidents.rules import severity_for
from tests.factories import incident_in

MATRIX = [
    ("high", "high", "S1"),
    ("high", "medium", "S2"),
    ("high", "low", "S3"),
    ("medium", "high", "S2"),
    ("medium", "medium", "S3"),
    ("medium", "low", "S4"),
    ("low", "high", "S3"),
    ("low", "medium", "S4"),
    ("low", "low", "S4"),
]


@pytest.mark.parametrize(("urgency", "impact", "severity"), MATRIX)
def test_rule(urgency, impact, severity):
    assert severity_for(urgency=urgency, impact=impact) == severity


@pytest.mark.django_db
@pytest.mark.parametrize(("urgency", "impact", "severity"), MATRIX)
def test_classification_sets_severity_from_matrix(manager, urgency, impact, severity):
    incident = incident_in("logged", manager=manager)
    incident = services.incident_classify(
        incident=incident, user=manager, category="infrastructure", urgency=urgency, impact=impact
    )
    incident.refresh_from_db()
    assert (incident.urgency, incident.impact, incident.severity) == (urgency, impact, severity)
