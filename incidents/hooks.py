"""Extension points the other apps fill in their `AppConfig.ready()`, so `incidents` never imports them.

- `register_on_call_source(source)`: `source()` returns the ids of the users on call now (escalation's
  rotations); assignee pickers mark them (`forms.AssigneeChoiceField`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

_on_call_sources: list[Callable[[], Iterable[int]]] = []


def register_on_call_source(source: Callable[[], Iterable[int]]) -> None:
    if source not in _on_call_sources:
        _on_call_sources.append(source)


def on_call_user_ids() -> set[int]:
    """Ids of the users on call now, by every registered source (none without the escalation app)."""
    return {pk for source in _on_call_sources for pk in source()}
