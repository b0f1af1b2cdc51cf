"""Domain errors raised by services; the API, the admin and the commands each translate them in one place."""

from django.core.exceptions import PermissionDenied, ValidationError

__all__ = ["Conflict", "PayloadTooLarge", "PermissionDenied", "TransitionNotAllowed", "ValidationError"]


class Conflict(Exception):
    """The request is valid but clashes with the incident's current situation (HTTP 409)."""

    code = "conflict"


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
