"""Domain errors raised by services; the API, the admin and the commands each translate them in one place."""

from django.core.exceptions import PermissionDenied, ValidationError

__all__ = [
    "Conflict",
    "PayloadTooLarge",
    "PermissionDenied",
    "RequiredStepsOpen",
    "TransitionNotAllowed",
    "ValidationError",
]


class Conflict(Exception):
    """The request is valid but clashes with the incident's current situation (HTTP 409)."""

    code = "conflict"
    data: dict = {}  # never mutated: what the API adds to the error body beside detail and code


class RequiredStepsOpen(Conflict):
    """Resolving waits for the required runbook steps that are neither done nor skipped (HTTP 409)."""

    code = "required_steps_open"

    def __init__(self, steps: list):
        self.steps = steps
        self.data = {"steps": [{"id": step.pk, "order": step.order, "text": step.text} for step in steps]}
        names = "; ".join(f"{step.order}. {step.text}" for step in steps)
        super().__init__(
            f"Required runbook steps are neither done nor skipped with a reason: {names}. Do them, or skip "
            "them with a reason, before resolving."
        )


class TransitionNotAllowed(Conflict):
    """The transition does not start from the incident's current state (HTTP 409)."""

    code = "transition_not_allowed"

    def __init__(self, *, transition: str, state: str, allowed: list[str]):
        self.transition, self.state, self.allowed = transition, state, allowed
        allowed_text = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"Cannot {transition} an incident in state '{state}'. Allowed from '{state}': {allowed_text}."
        )


class PayloadTooLarge(Exception):
    """A request body over its size limit (HTTP 413), refused without being read or stored."""

    code = "payload_too_large"
