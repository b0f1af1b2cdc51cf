"""What each KPI means, word for word as the reports print it (weekly summary, monthly service impact, the
KPI report) and the README repeats it (`tests/reporting/test_kpi_definitions.py` holds them to the same
text). The numbers themselves are computed by `reporting.selectors`; these say exactly how.

"The period" is the report's: the ISO week, the calendar month, or [start, end) of the KPI report.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KpiDefinition:
    key: str
    name: str
    text: str


KPI_DEFINITIONS = (
    KpiDefinition(
        "mttr_seconds",
        "MTTR (mean time to resolve)",
        "The mean of resolution time minus logging time over the incidents whose last resolution falls in "
        "the period (a reopen clears the resolution; the next one counts), per severity. Time on hold is "
        "included, and so are self-healed incidents. Target: S1 under 4 h, S2 under 8 h.",
    ),
    KpiDefinition(
        "first_response_seconds",
        "First response",
        "The mean and the 90th percentile (nearest rank) of first response time minus logging time over the "
        "incidents logged in the period that a person has answered. The first response is a person's first "
        "move into investigation (or resolving an incident nobody had answered); nothing monitoring or "
        "another system account does counts, so self-healed incidents have none and are left out. Target: "
        "S1 under 15 min, S2 under 30 min.",
    ),
    KpiDefinition(
        "reopen_rate",
        "Reopen rate",
        "Among the incidents resolved in the period, the share reopened at least once. Target: under 5%.",
    ),
    KpiDefinition(
        "sla_compliance",
        "SLA compliance (resolution)",
        "Among the incidents resolved in the period that have a resolution target, self-healed ones "
        "excepted, the share resolved by their resolution due time (time on hold moves it later). Target: "
        "over 95%.",
    ),
    KpiDefinition(
        "response_sla_compliance",
        "SLA compliance (response)",
        "Among the incidents logged in the period whose response is decided (answered by a person, or still "
        "unanswered past the response due time), self-healed ones excepted, the share answered by the "
        "response due time. Target: over 95%.",
    ),
    KpiDefinition(
        "self_healed",
        "Self-healed",
        "An incident raised by monitoring that monitoring's recovery resolved before any person responded. "
        "Counted on a line of its own (by when it was resolved), left out of the first-response figures and "
        "of both SLA compliance figures above, and shown with an SLA compliance of its own: the share of the "
        "self-healed incidents resolved by their resolution due time.",
    ),
)
