"""What an escalation message says happened, for its subject and heading: "Escalated to Tier 2 (System
Administrators)" (functional), "Response target missed", "50% of resolution time used" (hierarchical). Two
steps of one level (the response target missed, half the resolution time gone) must never read alike."""

from __future__ import annotations

from incidents.formatting import exact_duration
from incidents.models import Incident

from ..choices import Clock
from ..models import EscalationStep


def step_headline(step: EscalationStep) -> str:
    """What the step's firing means: at 100% its clock's target is missed ("Response target missed"),
    below that a share of the time is used ("50% of resolution time used"), beyond it the target was
    missed a while ago ("Resolution target missed, 150% of the time used"); a step at a fixed offset says
    what is still missing that long after logging ("No response 1 h after logging")."""
    clock = "response" if step.clock == Clock.RESPONSE else "resolution"
    if step.percent is None:
        missing = "No response" if step.clock == Clock.RESPONSE else "Unresolved"
        return f"{missing} {exact_duration(step.offset)} after logging"
    if step.percent < 100:
        return f"{step.percent}% of {clock} time used"
    missed = f"{clock.capitalize()} target missed"
    return missed if step.percent == 100 else f"{missed}, {step.percent}% of the time used"


def escalation_headline(incident: Incident, context: dict) -> str:
    """The headline of an escalation message about `incident`, from what its sender passed: `functional`
    (the incident already sits with its new tier) or the hierarchical `step` that fired."""
    if context.get("functional"):
        return f"Escalated to {incident.get_tier_display()}"
    step = context.get("step")
    return step_headline(step) if step is not None else "Escalation"
