"""The admin home page's work queues and the major-incident banner of every admin page.

A queue is a count (`selectors.work_queues`, one aggregate query over what the user may see) and a link to
the incident list filtered to the same incidents, with the parameters the list's filters understand
(`incidents.admin.filters`): following the link lists exactly the incidents counted.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from .. import permissions as perms
from .. import selectors
from ..choices import State
from .filters import AssigneeFilter, BreachedFilter, StateFilter, TierFilter

# How many open major incidents the banner names; the rest are behind its link to the list.
BANNER_NAMED = 3

QUEUE_LINKS = {
    selectors.QUEUE_MINE: ("My incidents", {AssigneeFilter.parameter_name: AssigneeFilter.ME}),
    selectors.QUEUE_MY_TIER_UNASSIGNED: (
        "My tier, unassigned",
        {AssigneeFilter.parameter_name: AssigneeFilter.NOBODY, TierFilter.parameter_name: TierFilter.MINE},
    ),
    selectors.QUEUE_BREACHING: (
        f"Breaching within {selectors.BREACH_WARNING.seconds // 60} min or breached",
        {BreachedFilter.parameter_name: BreachedFilter.SOON},
    ),
    selectors.QUEUE_MAJOR: ("Major incidents open", {"is_major__exact": "1"}),
    selectors.QUEUE_AWAITING_CLOSURE: (
        "Resolved, waiting for closure",
        {StateFilter.parameter_name: State.RESOLVED},
    ),
}


def changelist_url(site_name: str, params: dict) -> str:
    url = reverse(f"{site_name}:incidents_incident_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def home_queues(request, *, site_name: str = "admin", now: datetime | None = None) -> list[dict]:
    """The queues of the home page (label, count, link), for the people who work incidents (support tiers,
    Security Team, Incident Managers); [] for anyone else (Management reads the reports)."""
    if not perms.is_support_role(request.user):
        return []
    counts = selectors.work_queues(user=request.user, now=now or timezone.now())
    return [
        {"key": key, "label": label, "count": counts[key], "url": changelist_url(site_name, params)}
        for key, (label, params) in QUEUE_LINKS.items()
    ]


def log_incident_url(request, *, site_name: str = "admin") -> str | None:
    """The home page's *Log incident* button, for those who may log one (not Management, who only reads)."""
    if not perms.can_log_incident(request.user):
        return None
    return reverse(f"{site_name}:incidents_incident_add")


def major_banner(request, *, site_name: str = "admin") -> SimpleLazyObject | None:
    """The banner of every admin page, loaded only when a page renders it (one query of `BANNER_NAMED + 1`
    rows): the open major incidents the user may see, whether there are more than it names, and the link to
    all of them. Falsy when there is none (and for anonymous visitors: the login page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None

    def load() -> dict | None:
        incidents = list(selectors.open_major_incidents(user=user)[: BANNER_NAMED + 1])
        if not incidents:
            return None
        return {
            "incidents": incidents[:BANNER_NAMED],
            "more": len(incidents) > BANNER_NAMED,
            "list_url": changelist_url(site_name, QUEUE_LINKS[selectors.QUEUE_MAJOR][1]),
        }

    return SimpleLazyObject(load)
