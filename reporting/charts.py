"""Charts of the service-impact report, drawn with matplotlib and returned as `data:` URIs so an HTML report
is one self-contained file (SVG for browsers; PNG for the PDF backend, which does not read SVG).

Figures are built with `matplotlib.figure.Figure` directly, never pyplot: no global state, no GUI backend,
safe in a Celery worker or a web process.
"""

from __future__ import annotations

import base64
import io

from matplotlib.figure import Figure

SEVERITY_COLOURS = {"S1": "#c0392b", "S2": "#e67e22", "S3": "#f1c40f", "S4": "#7f8c8d"}
INK = "#333333"
GRID = "#dddddd"
ACCENT = "#2c6fbb"
AVAILABILITY_GOOD = 0.999  # a reference line, not a target from the seed


def _uri(figure: Figure, fmt: str) -> str:
    buffer = io.BytesIO()
    if fmt == "svg":
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
        mime = "image/svg+xml"
    else:
        figure.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
        mime = "image/png"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def _figure(width: float, height: float) -> tuple[Figure, object]:
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(colors=INK, labelsize=9)
    return figure, axes


def severity_by_service(report: dict, *, fmt: str = "svg") -> str:
    """Stacked horizontal bars: the month's incidents of each service, by severity."""
    rows = list(reversed(report["services"]))  # matplotlib draws the first bar at the bottom
    names = [row["name"] for row in rows]
    figure, axes = _figure(6, max(2.2, 0.34 * len(rows) + 1.0))
    left = [0] * len(rows)
    for severity, colour in SEVERITY_COLOURS.items():
        values = [row["incidents"][severity] for row in rows]
        axes.barh(names, values, left=left, color=colour, label=severity, height=0.6)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_xlabel("incidents created in the month", color=INK, fontsize=9)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="x", color=GRID, linewidth=0.6)
    axes.set_axisbelow(True)
    figure.legend(ncols=4, fontsize=8, frameon=False, loc="outside lower center")
    axes.set_title("Incidents by severity", loc="left", fontsize=11, color=INK)
    return _uri(figure, fmt)


def availability_by_service(report: dict, *, fmt: str = "svg") -> str:
    """Horizontal bars of each service's availability, zoomed to where the values are."""
    rows = [row for row in reversed(report["services"]) if row["availability"] is not None]
    figure, axes = _figure(6, max(2.2, 0.34 * len(rows) + 1.0))
    values = [row["availability"] * 100 for row in rows]
    lowest = min([*values, 99.0])
    floor = max(0.0, lowest - (100 - lowest) * 0.25 - 0.05)
    colours = [ACCENT if v >= AVAILABILITY_GOOD * 100 else SEVERITY_COLOURS["S1"] for v in values]
    bars = axes.barh([row["name"] for row in rows], [v - floor for v in values], left=floor, color=colours)
    for bar, value in zip(bars, values, strict=True):
        axes.text(
            bar.get_x() + bar.get_width(),
            bar.get_y() + bar.get_height() / 2,
            f" {value:.3f}%",
            va="center",
            fontsize=8,
            color=INK,
        )
    axes.axvline(AVAILABILITY_GOOD * 100, color=INK, linestyle=":", linewidth=0.8)
    axes.set_xlim(floor, 100 + (100 - floor) * 0.12)
    axes.set_xlabel("availability in the month (%); red: under 99.9%", color=INK, fontsize=9)
    axes.set_title("Availability (1 - outage / minutes in the month)", loc="left", fontsize=11, color=INK)
    return _uri(figure, fmt)


def trend(report: dict, *, fmt: str = "svg") -> str:
    """Six months: incidents by severity (bars) and availability and SLA compliance (lines)."""
    months = [entry["month"] for entry in report["trend"]]
    positions = list(range(len(months)))  # labels like "2026-10" would be parsed as dates otherwise
    figure = Figure(figsize=(7.5, 3.2), layout="constrained")
    counts, rates = figure.subplots(1, 2, width_ratios=[1.1, 1])
    for axes in (counts, rates):
        axes.spines[["top", "right"]].set_visible(False)
        axes.tick_params(colors=INK, labelsize=8)
        axes.grid(axis="y", color=GRID, linewidth=0.6)
        axes.set_axisbelow(True)
    bottom = [0] * len(months)
    for severity, colour in SEVERITY_COLOURS.items():
        values = [entry["incidents"][severity] for entry in report["trend"]]
        counts.bar(positions, values, bottom=bottom, color=colour, label=severity, width=0.65)
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    counts.set_title("Incidents per month", loc="left", fontsize=10, color=INK)
    counts.legend(ncols=4, fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0, -0.32))
    counts.yaxis.get_major_locator().set_params(integer=True)

    def series(key):
        return [float("nan") if entry[key] is None else entry[key] * 100 for entry in report["trend"]]

    rates.plot(positions, series("availability"), marker="o", color=ACCENT, label="availability")
    rates.plot(
        positions, series("sla_compliance"), marker="s", color=SEVERITY_COLOURS["S2"], label="SLA compliance"
    )
    rates.axhline(95, color=INK, linestyle=":", linewidth=0.8)
    rates.set_ylim(top=100.5)
    rates.set_title("Availability and SLA compliance (%)", loc="left", fontsize=10, color=INK)
    rates.legend(fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0, -0.32), ncols=2)
    for axes in (counts, rates):
        axes.set_xticks(positions, months, rotation=30, horizontalalignment="right")
    return _uri(figure, fmt)


def service_impact_charts(report: dict, *, fmt: str = "svg") -> dict[str, str]:
    """The report's three charts as `data:` URIs, by name."""
    return {
        "severity_by_service": severity_by_service(report, fmt=fmt),
        "availability": availability_by_service(report, fmt=fmt),
        "trend": trend(report, fmt=fmt),
    }
