"""Reports as files: JSON, CSV, Markdown, self-contained HTML (charts embedded as `data:` URIs) and PDF
(the same HTML template rendered for print, converted by `reporting.pdf`). Renderers only format the data
the selectors computed; they never query incidents.
"""

from __future__ import annotations

import csv
import io
import json
import re

from django.template.loader import render_to_string

from escalation.services.notifications import admin_link
from incidents.output_safety import csv_row

from . import charts, formatting
from .choices import FORMATS, ReportFormat, ReportKind
from .kpi_definitions import KPI_DEFINITIONS
from .pdf import html_to_pdf, pdf_fonts
from .selectors import SEVERITIES


class UnknownFormat(ValueError):
    pass


def render(kind: str, data: dict, fmt: str, **context) -> bytes:
    """The report `data` of `kind` in `fmt`. Raises UnknownFormat for a format the report does not have,
    and `pdf.PdfUnavailable` when the PDF backend is missing. `context`: objects a template needs besides
    the data (the review's `incident`, for the Post-Incident Summary template)."""
    if fmt not in FORMATS[kind]:
        raise UnknownFormat(
            f"Unknown format {fmt!r} for the {ReportKind(kind).label.lower()}: use one of {', '.join(FORMATS[kind])}."
        )
    if fmt == ReportFormat.JSON:
        return (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode()
    if fmt == ReportFormat.PDF:
        return html_to_pdf(RENDERERS[kind]["html"](data, for_pdf=True, **context))
    if fmt == ReportFormat.HTML:
        return RENDERERS[kind]["html"](data, **context).encode()
    return RENDERERS[kind][fmt](data).encode()


def _csv(rows: list[list]) -> str:
    """Titles, names and notes come from users: text a spreadsheet would run as a formula is escaped
    (`csv_row`); numbers are written as numbers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([csv_row("" if v is None else v for v in row) for row in rows])
    return buffer.getvalue()


class Markdown(str):
    """Markdown the renderer writes itself (a bold "Total"), put into a table cell as it is."""


# Markdown viewers render inline HTML and follow links and images: user text must read as typed. HTML's
# `& < >` become entities (no tag, no <autolink>); the characters of links, images, code, emphasis and
# table cells get a backslash.
_MD_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")


def md_text(value, *, block: bool = False) -> str:
    """User text for Markdown: shown as typed, never as a link, image, tag or code. Inline (table cells,
    headings) it is one line; a `block` (a review's paragraphs) keeps its lines, so a "- " list stays one."""
    if isinstance(value, Markdown):
        return value
    text = formatting.dash(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_PUNCTUATION.sub(r"\\\1", text)
    return text if block else re.sub(r"[\r\n]+", " ", text)


def _md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(md_text(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# --- KPIs ------------------------------------------------------------------------------------------------

KPI_DURATIONS = (
    ("mttr_seconds", "MTTR"),
    ("first_response_seconds", "First response (mean)"),
    ("first_response_p90_seconds", "First response (p90)"),
)
KPI_RATES = (
    ("reopen_rate", "Reopen rate"),
    ("sla_compliance", "SLA compliance (resolution)"),
    ("response_sla_compliance", "SLA compliance (response)"),
    ("self_healed_sla_compliance", "SLA compliance (self-healed)"),
)
# The count lines of the KPI report, with how each reads.
KPI_COUNTS = (
    ("created", "created"),
    ("resolved", "resolved"),
    ("closed", "closed"),
    ("self_healed", "self-healed"),
    ("open_at_end", "open at end"),
)


def _target_text(target: dict | None, *, seconds: bool) -> str:
    if not target:
        return ""
    value = formatting.duration(target["target"]) if seconds else formatting.percent(target["target"], 0)
    return f"{target['rule']} {value}: {formatting.met(target['met'])}"


def kpi_rows(data: dict) -> list[dict]:
    """One row per KPI with its value per severity and overall, and the target where the seed sets one."""
    rows = []
    for key, label in KPI_DURATIONS:
        targets = data["targets"].get(key, {})
        rows.append(
            {
                "key": key,
                "label": label,
                "values": [formatting.duration(data[key][s]) for s in (*SEVERITIES, "all")],
                "raw": [data[key][s] for s in (*SEVERITIES, "all")],
                "target": "; ".join(f"{s} {_target_text(t, seconds=True)}" for s, t in targets.items()),
            }
        )
    for key, label in KPI_RATES:
        rows.append(
            {
                "key": key,
                "label": label,
                "values": ["", "", "", "", formatting.percent(data[key])],
                "raw": [None, None, None, None, data[key]],
                "target": _target_text(data["targets"].get(key), seconds=False),
            }
        )
    return rows


def count_rows(data: dict) -> list[list]:
    counts = data["counts"]
    rows = []
    for name, label in KPI_COUNTS:
        by_severity = counts[name]["by_severity"]
        rows.append(
            [
                label,
                *[by_severity[s] for s in (*SEVERITIES, "unclassified")],
                counts[name]["all"],
            ]
        )
    return rows


def category_rows(data: dict) -> list[list]:
    counts = data["counts"]
    categories = list(counts["created"]["by_category"])
    return [
        [
            category,
            *[counts[name]["by_category"][category] for name, _label in KPI_COUNTS],
        ]
        for category in categories
    ]


def definitions_markdown(*, heading: str = "##") -> str:
    """Every KPI's exact definition (`reporting.kpi_definitions`), as the reports print them."""
    lines = [f"{heading} How the numbers are defined", ""]
    lines += [f"- **{md_text(d.name)}**: {md_text(d.text)}" for d in KPI_DEFINITIONS]
    return "\n".join(lines) + "\n"


def kpis_markdown(data: dict, *, heading: str = "#") -> str:
    parts = [
        f"{heading} KPIs {data['start']} to {data['end']} (end exclusive)",
        "",
        _md_table(
            ["KPI", *SEVERITIES, "all", "target"],
            [[r["label"], *r["values"], r["target"]] for r in kpi_rows(data)],
        ),
        "",
        _md_table(["count", *SEVERITIES, "unclassified", "all"], count_rows(data)),
        "",
        _md_table(["category", *[label for _name, label in KPI_COUNTS]], category_rows(data)),
        "",
        definitions_markdown(heading=heading + "#"),
    ]
    return "\n".join(parts)


def kpis_csv(data: dict) -> str:
    rows = [["kpi", *SEVERITIES, "all", "target"]]
    rows += [[r["key"], *r["raw"], r["target"]] for r in kpi_rows(data)]
    rows += [
        [f"count_{name}", *row[1:5], row[6], f"unclassified {row[5]}"]
        for (name, _label), row in zip(KPI_COUNTS, count_rows(data), strict=True)
    ]
    return _csv(rows)


# --- monthly service-impact report -----------------------------------------------------------------------

SERVICE_COLUMNS = [
    "service",
    "S1",
    "S2",
    "S3",
    "S4",
    "unclassified",
    "total",
    "outage_minutes",
    "degraded_minutes",
    "availability",
    "mttr_seconds",
    "sla_compliance",
    "reopen_rate",
    "self_healed",
    "self_healed_sla_compliance",
]


def _service_values(row: dict) -> list:
    return [
        *[row["incidents"][k] for k in ("S1", "S2", "S3", "S4", "unclassified", "total")],
        row["outage_minutes"],
        row["degraded_minutes"],
        row["availability"],
        row["mttr_seconds"],
        row["sla_compliance"],
        row["reopen_rate"],
        row["self_healed"],
        row["self_healed_sla_compliance"],
    ]


def service_impact_csv(data: dict) -> str:
    """The services table and a TOTAL row (the trend and recommendations are in the other formats)."""
    rows = [SERVICE_COLUMNS]
    rows += [[row["service"] or "", *_service_values(row)] for row in data["services"]]
    rows.append(["TOTAL", *_service_values(data["totals"])])
    return _csv(rows)


def _human_service_values(row: dict) -> list:
    incidents = row["incidents"]
    return [
        *[incidents[k] for k in ("S1", "S2", "S3", "S4", "total")],
        formatting.minutes(row["outage_minutes"]),
        formatting.minutes(row["degraded_minutes"]),
        formatting.availability(row["availability"]),
        formatting.duration(row["mttr_seconds"]),
        formatting.percent(row["sla_compliance"]),
        formatting.percent(row["reopen_rate"]),
        _self_healed_text(row),
    ]


def _self_healed_text(row: dict) -> str:
    """How many healed themselves, and their own SLA compliance when there were any."""
    if not row["self_healed"]:
        return "0"
    return f"{row['self_healed']} (SLA {formatting.percent(row['self_healed_sla_compliance'])})"


HUMAN_SERVICE_HEADER = [
    "S1",
    "S2",
    "S3",
    "S4",
    "total",
    "outage min",
    "degraded min",
    "availability",
    "MTTR",
    "SLA",
    "reopened",
    "self-healed",
]


def service_impact_markdown(data: dict) -> str:
    parts = [
        f"# Service impact {data['month']}",
        "",
        f"Month {formatting.when(data['start'])} to {formatting.when(data['end'])} ({data['time_zone']}), "
        f"generated {formatting.when(data['generated_at'])}. Outage minutes: union of S1 incidents' "
        "detected → resolved intervals in the month; degraded: the same for S2.",
        "",
        "## Services",
        "",
        _md_table(
            ["service", *HUMAN_SERVICE_HEADER],
            [[row["name"], *_human_service_values(row)] for row in data["services"]]
            + [[Markdown("**Total**"), *_human_service_values(data["totals"])]],
        ),
        "",
        "## Trend",
        "",
        _md_table(
            [
                "month",
                "incidents",
                "S1",
                "S2",
                "outage min",
                "degraded min",
                "availability",
                "MTTR",
                "SLA",
                "reopened",
            ],
            [
                [
                    entry["month"],
                    entry["incidents"]["total"],
                    entry["incidents"]["S1"],
                    entry["incidents"]["S2"],
                    formatting.minutes(entry["outage_minutes"]),
                    formatting.minutes(entry["degraded_minutes"]),
                    formatting.availability(entry["availability"]),
                    formatting.duration(entry["mttr_seconds"]),
                    formatting.percent(entry["sla_compliance"]),
                    formatting.percent(entry["reopen_rate"]),
                ]
                for entry in data["trend"]
            ],
        ),
        "",
        "## Recommendations",
        "",
    ]
    if data["recommendations"]:
        parts += [
            f"- **{md_text(r['action'])}.** {md_text(r['explanation'])}" for r in data["recommendations"]
        ]
    else:
        parts.append("No rule fired this month.")
    parts += ["", definitions_markdown()]
    return "\n".join(parts)


def service_impact_html(data: dict, *, for_pdf: bool = False) -> str:
    return render_to_string(
        "reporting/service_impact.html",
        {
            "report": data,
            "charts": charts.service_impact_charts(data, fmt="png" if for_pdf else "svg"),
            "for_pdf": for_pdf,
            "pdf_fonts": pdf_fonts() if for_pdf else None,
            "severities": SEVERITIES,
        },
    )


# --- weekly incident summary -----------------------------------------------------------------------------

WEEKLY_COLUMNS = [
    "number",
    "title",
    "state",
    "severity",
    "service",
    "tier",
    "assignee",
    "sla_status",
    "created_at",
    "resolved_at",
    "diagnosis",
    "root_cause",
    "workaround",
]
INVESTIGATION_LABELS = (
    ("diagnosis", "Diagnosis"),
    ("root_cause", "Root cause"),
    ("workaround", "Workaround"),
)


def investigated(data: dict) -> list[dict]:
    """The week's incidents with something of their investigation on record (seed 2.1), in the summary's
    order."""
    return [row for row in data["incidents"] if any(row[field] for field, _ in INVESTIGATION_LABELS)]


def weekly_summary_csv(data: dict) -> str:
    return _csv([WEEKLY_COLUMNS, *[[row[c] for c in WEEKLY_COLUMNS] for row in data["incidents"]]])


def weekly_summary_markdown(data: dict) -> str:
    counts = data["counts"]
    parts = [
        f"# Weekly incident summary {data['week']}",
        "",
        f"{formatting.when(data['start'])} to {formatting.when(data['end'])} ({data['time_zone']}): "
        f"{counts['listed']} incidents created, resolved or open, {counts['breached']} breached; "
        f"{counts['created']} created, {counts['resolved']} resolved, {counts['open_at_end']} open at the end.",
        "",
        "## Incidents (breaches first)",
        "",
        _md_table(
            ["number", "title", "state", "sev", "service", "tier", "assignee", "SLA", "logged", "resolved"],
            [
                [
                    row["number"],
                    row["title"],
                    row["state"],
                    row["severity"],
                    row["service"],
                    row["tier"],
                    row["assignee"],
                    row["sla_status"],
                    formatting.when(row["created_at"]),
                    formatting.when(row["resolved_at"]),
                ]
                for row in data["incidents"]
            ],
        ),
        "",
        "## Investigation (diagnosis, root cause, workaround)",
        "",
    ]
    for row in investigated(data):
        parts += [f"### {row['number']}: {md_text(row['title'])}", ""]
        parts += [f"- {label}: {md_text(row[field])}" for field, label in INVESTIGATION_LABELS if row[field]]
        parts.append("")
    if not investigated(data):
        parts += ["None on record this week.", ""]
    parts.append(kpis_markdown(data["kpis"], heading="##"))
    return "\n".join(parts)


def weekly_summary_html(data: dict, *, for_pdf: bool = False) -> str:
    return render_to_string(
        "reporting/weekly_summary.html",
        {
            "report": data,
            "kpi_rows": kpi_rows(data["kpis"]),
            "count_rows": count_rows(data["kpis"]),
            "for_pdf": for_pdf,
            "severities": SEVERITIES,
            "investigated": [
                {
                    "row": row,
                    "entries": [(label, row[field]) for field, label in INVESTIGATION_LABELS if row[field]],
                }
                for row in investigated(data)
            ],
        },
    )


# --- major-incident review -------------------------------------------------------------------------------

DURATION_LABELS = {
    "detection_to_logging": "Detection → logging",
    "logging_to_first_response": "Logging → first response",
    "first_response_to_resolution": "First response → resolution",
    "resolution_to_closure": "Resolution → closure",
    "detection_to_resolution": "Detection → resolution",
    "detection_to_closure": "Detection → closure",
}


def grouped_communications(data: dict) -> list[dict]:
    """One row per message sent (the outbox has a row per recipient): when, which template, to whom, and
    how delivery went."""
    groups: dict[tuple, dict] = {}
    for c in data["communications"]:
        group = groups.setdefault(
            (c["created_at"], c["template"]),
            {
                "created_at": c["created_at"],
                "template_label": c["template_label"],
                "recipients": [],
                "statuses": {},
            },
        )
        group["recipients"].append(c["recipient"] if c["channel"] == "email" else f"webhook {c['recipient']}")
        group["statuses"][c["status"]] = group["statuses"].get(c["status"], 0) + 1
    for group in groups.values():
        group["status"] = ", ".join(f"{n} {status}" for status, n in group["statuses"].items())
    return list(groups.values())


def review_csv(data: dict) -> str:
    """The reconstructed timeline, one row per entry."""
    return _csv(
        [
            ["at", "source", "kind", "actor", "text"],
            *[[e["at"], e["source"], e["kind"], e["actor"], e["text"]] for e in data["timeline"]],
        ]
    )


def review_markdown(data: dict) -> str:
    incident, review = data["incident"], data["review"]
    sla = data["sla"]
    parts = [
        f"# Major-incident review {incident['number']}: {md_text(incident['title'])}",
        "",
        f"Service {md_text(incident['service_name'])} · {formatting.dash(incident['severity'])} · "
        f"{incident['state']} · review {review['status'] if review else 'not drafted yet'}",
        "",
        "## Durations",
        "",
        _md_table(
            ["stage", "duration"],
            [[DURATION_LABELS[k], formatting.duration(v)] for k, v in data["durations"].items()],
        ),
        "",
        "## SLA outcome",
        "",
        _md_table(
            ["clock", "due", "at", "outcome"],
            [
                [name, formatting.when(c["due_at"]), formatting.when(c["at"]), formatting.met(c["met"])]
                for name, c in sla.items()
            ],
        ),
        "",
        "## Escalations",
        "",
    ]
    if data["escalations"]:
        parts.append(
            _md_table(
                ["fired", "kind", "level", "tiers", "reason"],
                [
                    [
                        formatting.when(e["fired_at"]),
                        e["kind_label"],
                        e["level"],
                        f"{e['from_tier'] or ''} → {e['to_tier'] or ''}".strip(" →"),
                        e["reason"],
                    ]
                    for e in data["escalations"]
                ],
            )
        )
    else:
        parts.append("None fired.")
    parts += ["", "## Communications", ""]
    if data["communications"]:
        parts.append(
            _md_table(
                ["queued", "template", "recipients", "delivery"],
                [
                    [
                        formatting.when(c["created_at"]),
                        c["template_label"],
                        ", ".join(c["recipients"]),
                        c["status"],
                    ]
                    for c in grouped_communications(data)
                ],
            )
        )
    else:
        parts.append("None sent.")
    parts += [
        "",
        "## Timeline",
        "",
        _md_table(
            ["at", "source", "who", "what"],
            [[formatting.when(e["at"]), e["source"], e["actor"], e["text"]] for e in data["timeline"]],
        ),
        "",
    ]
    if review:
        for key, title in (
            ("summary", "Summary"),
            ("root_cause", "Root cause"),
            ("lessons_learned", "Lessons learned"),
            ("what_went_well", "What went well"),
            ("what_went_badly", "What went badly"),
        ):
            parts += [f"## {title}", "", md_text(review[key], block=True), ""]
        parts += ["## Action items", ""]
        if review["action_items"]:
            parts.append(
                _md_table(
                    ["action", "owner", "due", "done"],
                    [
                        [a["description"], a["owner"], a["due_date"], "yes" if a["done"] else "no"]
                        for a in review["action_items"]
                    ],
                )
            )
        else:
            parts.append("None yet.")
    return "\n".join(parts) + "\n"


def review_html(data: dict, *, incident, for_pdf: bool = False) -> str:
    """Rendered with the Post-Incident Summary communication template, extended with the review's facts.
    `incident` is the Incident the template's header and SLA lines read."""
    return render_to_string(
        "reporting/major_incident_review.html",
        {
            "incident": incident,
            "service": incident.service,
            "review": data["review"],
            "data": data,
            "durations": [(DURATION_LABELS[k], v) for k, v in data["durations"].items()],
            "communications": grouped_communications(data),
            "embedded": True,  # the communication template styles the page itself
            "highlights": None,  # the full timeline replaces the summary's last-six highlights
            "next_update_at": None,
            "incident_url": admin_link(incident),  # a document for staff: it links to the incident's page
            "template_name": "Post-Incident Summary",
            "for_pdf": for_pdf,
            "pdf_fonts": pdf_fonts() if for_pdf else None,
        },
    )


RENDERERS = {
    ReportKind.SERVICE_IMPACT: {
        "csv": service_impact_csv,
        "md": service_impact_markdown,
        "html": service_impact_html,
    },
    ReportKind.WEEKLY_SUMMARY: {
        "csv": weekly_summary_csv,
        "md": weekly_summary_markdown,
        "html": weekly_summary_html,
    },
    ReportKind.MAJOR_INCIDENT_REVIEW: {"csv": review_csv, "md": review_markdown, "html": review_html},
    ReportKind.KPIS: {"csv": kpis_csv, "md": kpis_markdown},
}
