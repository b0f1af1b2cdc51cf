"""Changelist filters of the incident work list.

Each keeps the query parameter of the filter it replaced (`state__exact`, `tier__exact`,
`assignee__id__exact`), so links made before still work, and adds the values the home page's queues link
to (`incidents.admin.queues`).
"""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils import timezone

from .. import selectors
from ..choices import OPEN_STATES, State, Tier
from ..models import resolution_breached_q, response_breached_q


def person_name(user) -> str:
    """How the work list names a colleague: the full name, or the username when none is recorded."""
    return user.get_full_name() or user.get_username()


class StateFilter(admin.SimpleListFilter):
    """Open incidents unless the URL names states: `state=open` (the default when no state is given),
    `state=all`, or states separated by commas (`state=investigating,on_hold`). Each state in the sidebar
    toggles in or out of the selection. The field filter's `state__exact=<state>` still names one state."""

    title = "state"
    parameter_name = "state"
    legacy_parameter = "state__exact"
    OPEN, ALL = "open", "all"

    def __init__(self, request, params, model, model_admin):
        if self.legacy_parameter in params:
            params.setdefault(self.parameter_name, params.pop(self.legacy_parameter))
        super().__init__(request, params, model, model_admin)

    def expected_parameters(self):
        return [self.parameter_name, self.legacy_parameter]

    def lookups(self, request, model_admin):
        return [(self.OPEN, "Open"), (self.ALL, "All"), *State.choices]

    def states(self) -> list[str] | None:
        """The states asked for; None for all. A state that does not exist is the changelist's "invalid
        filter" answer (IncorrectLookupParameters), not an empty list."""
        value = self.value() or self.OPEN
        if value == self.OPEN:
            return list(OPEN_STATES)
        if value == self.ALL:
            return None
        states = [state for state in value.split(",") if state]
        unknown = set(states) - set(State.values)
        if unknown or not states:
            raise IncorrectLookupParameters(f"No such state: {', '.join(sorted(unknown)) or value!r}.")
        return states

    def queryset(self, request, queryset):
        states = self.states()
        return queryset if states is None else queryset.filter(state__in=states)

    def choices(self, changelist):
        value = self.value() or self.OPEN
        chosen = set() if value in (self.OPEN, self.ALL) else set(value.split(","))
        default = changelist.get_query_string(remove=self.expected_parameters())
        yield {"selected": value == self.OPEN, "query_string": default, "display": "Open"}
        yield {
            "selected": value == self.ALL,
            "query_string": changelist.get_query_string(
                {self.parameter_name: self.ALL}, remove=[self.legacy_parameter]
            ),
            "display": "All",
        }
        for state, label in State.choices:
            toggled = ",".join(s for s in State.values if s in chosen ^ {state})
            query = (
                changelist.get_query_string({self.parameter_name: toggled}, remove=[self.legacy_parameter])
                if toggled
                else default
            )
            yield {"selected": state in chosen, "query_string": query, "display": label}


class TierFilter(admin.SimpleListFilter):
    """By tier, or the user's own tiers (`tier__exact=mine`: the tiers whose group they belong to)."""

    title = "tier"
    parameter_name = "tier__exact"
    MINE = "mine"

    def lookups(self, request, model_admin):
        return [(self.MINE, "My tiers"), *Tier.choices]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if value == self.MINE:
            return queryset.filter(selectors.my_tiers_q(request.user))
        if value not in Tier.values:
            raise IncorrectLookupParameters(f"No such tier: {value!r}.")
        return queryset.filter(tier=value)


class AssigneeFilter(admin.SimpleListFilter):
    """Assigned to me, unassigned, or to one of the people incidents are assigned to, by full name: the
    support roles' members, not every account (`selectors.support_staff`: reporters and monitoring accounts
    are never assignees, and a vendor need not learn the lab's staff list)."""

    title = "assignee"
    parameter_name = "assignee__id__exact"
    ME, NOBODY = "me", "none"

    def lookups(self, request, model_admin):
        people = selectors.support_staff(user=request.user)
        return [
            (self.ME, "Assigned to me"),
            (self.NOBODY, "Unassigned"),
            *((user.pk, person_name(user)) for user in people),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if value == self.ME:
            return queryset.filter(assignee=request.user.pk)
        if value == self.NOBODY:
            return queryset.filter(assignee__isnull=True)
        if not value.isdigit():
            raise IncorrectLookupParameters(f"No such assignee: {value!r}.")
        return queryset.filter(assignee_id=int(value))


class BreachedFilter(admin.SimpleListFilter):
    """Response or resolution SLA breached, with the same rule as `Incident.objects.breached()`; or the
    home page's *Breaching within 30 min or breached* (`selectors.breaching_q`)."""

    title = "SLA breached"
    parameter_name = "breached"
    SOON = "soon"

    def lookups(self, request, model_admin):
        minutes = int(selectors.BREACH_WARNING.total_seconds() // 60)
        return [("yes", "Breached"), ("no", "Not breached"), (self.SOON, f"Within {minutes} min or breached")]

    def queryset(self, request, queryset):
        now = timezone.now()
        breached = response_breached_q(now) | resolution_breached_q(now)
        if self.value() == "yes":
            return queryset.filter(breached)
        if self.value() == "no":
            return queryset.exclude(breached)
        if self.value() == self.SOON:
            return queryset.filter(selectors.breaching_q(now))
        return queryset
