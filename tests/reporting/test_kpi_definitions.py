"""Every KPI's exact definition is one text (`reporting.kpi_definitions`): the reports print it and the
README repeats it word for word, so the two cannot drift apart."""

import re
from datetime import date
from pathlib import Path

from reporting import renderers, selectors
from reporting.kpi_definitions import KPI_DEFINITIONS
from reporting.periods import day_range

README = Path(__file__).resolve().parents[2] / "README.md"


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_readme_gives_every_definition_word_for_word():
    readme = words(README.read_text())
    for definition in KPI_DEFINITIONS:
        assert f"**{definition.name}**: {words(definition.text)}" in readme, definition.name


def test_every_kpi_with_a_target_and_the_self_healed_line_is_defined():
    defined = {d.key for d in KPI_DEFINITIONS}
    assert set(selectors.KPI_TARGETS) <= defined
    assert "self_healed" in defined


def test_the_kpi_report_prints_the_definitions(db):
    data = selectors.period_kpis(period=day_range(date(2026, 10, 1), date(2026, 11, 1)))
    markdown = renderers.kpis_markdown(data)
    assert "# How the numbers are defined" in markdown
    for definition in KPI_DEFINITIONS:
        assert f"- **{definition.name}**: {renderers.md_text(definition.text)}" in markdown
