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
