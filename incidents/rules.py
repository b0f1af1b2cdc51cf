"""Pure rules of the process, quoted from the seed document."""

from .choices import Level, Severity

# Seed 3.2 "Priority Assignment": urgency (rows) x impact (columns).
SEVERITY_MATRIX = {
    (Level.HIGH, Level.HIGH): Severity.S1,
    (Level.HIGH, Level.MEDIUM): Severity.S2,
    (Level.HIGH, Level.LOW): Severity.S3,
    (Level.MEDIUM, Level.HIGH): Severity.S2,
    (Level.MEDIUM, Level.MEDIUM): Severity.S3,
    (Level.MEDIUM, Level.LOW): Severity.S4,
    (Level.LOW, Level.HIGH): Severity.S3,
    (Level.LOW, Level.MEDIUM): Severity.S4,
    (Level.LOW, Level.LOW): Severity.S4,
}


def severity_for(*, urgency: str, impact: str) -> Severity:
    """S1 = high/high; S2 = high/medium, medium/high; S3 = high/low, medium/medium, low/high; else S4."""
    return SEVERITY_MATRIX[(Level(urgency), Level(impact))]


# Seed 3.1 "Severity Levels": what each severity means, as the people logging an incident read it.
SEVERITY_DEFINITIONS = {
    Severity.S1: "Complete service outage, broad impact.",
    Severity.S2: "Significant degradation, a major function affected.",
    Severity.S3: "Limited impact, a workaround is available.",
    Severity.S4: "Minimal impact, cosmetic issues.",
}

# The two questions behind the seed 3.2 matrix, in the words of the seed's severity definitions: how much
# is affected (impact) and how soon it must be fixed (urgency).
IMPACT_DESCRIPTIONS = {
    Level.HIGH: "A service is down or most of its users are affected.",
    Level.MEDIUM: "A major function is degraded, or a group of users is affected.",
    Level.LOW: "Little is affected: a workaround exists, or the fault is cosmetic.",
}
URGENCY_DESCRIPTIONS = {
    Level.HIGH: "Work has stopped (an observation, a deadline, the whole lab): it needs someone now.",
    Level.MEDIUM: "Work is hampered but goes on: it should be looked at within hours.",
    Level.LOW: "It can wait to be scheduled.",
}
