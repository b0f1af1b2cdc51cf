"""HTML → PDF with xhtml2pdf (pure Python on top of ReportLab: installs from PyPI alone, no system libraries,
unlike WeasyPrint which needs Pango). It understands a subset of CSS 2 and PNG images, which is what the
report templates use when they render for print (`for_pdf`).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path


class PdfUnavailable(RuntimeError):
    """The PDF backend is not installed or failed; the message says what to do."""


INSTALL_HINT = (
    "PDF output needs the xhtml2pdf package (pure Python, from PyPI): "
    "run `.venv/bin/pip install -e .` (or `pip install 'xhtml2pdf>=0.2.16,<0.3'`). "
    "HTML, Markdown, CSV and JSON work without it."
)


def pdf_available() -> bool:
    try:
        import xhtml2pdf.pisa  # noqa: F401
    except ImportError:
        return False
    return True


def pdf_fonts() -> dict[str, str]:
    """DejaVu Sans (regular and bold) as shipped with matplotlib: the PDF's standard fonts lack arrows and
    the minus sign, and no system font is needed this way."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return {"regular": str(folder / "DejaVuSans.ttf"), "bold": str(folder / "DejaVuSans-Bold.ttf")}


def _resource_policy() -> dict:
    """What the renderer may read besides the HTML: the fonts, nothing from the network (charts are
    `data:` URIs). The templates escape all user text, so no tag in a report comes from a user; this keeps
    it so should one ever slip through. xhtml2pdf releases before resource policies get no such limit."""
    try:
        from xhtml2pdf.config.resources import ResourceAccessPolicy
    except ImportError:
        return {}
    fonts = Path(pdf_fonts()["regular"]).parent
    return {"resource_policy": ResourceAccessPolicy(allow_remote=False, base_dir=fonts)}


def html_to_pdf(html: str) -> bytes:
    try:
        from xhtml2pdf import pisa
    except ImportError as exc:
        raise PdfUnavailable(INSTALL_HINT) from exc
    output = io.BytesIO()
    # xhtml2pdf logs every CSS property it skips (border-collapse, ...) as a warning; those are expected.
    quiet = logging.getLogger("xhtml2pdf")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        result = pisa.CreatePDF(html, dest=output, encoding="utf-8", **_resource_policy())
    finally:
        quiet.setLevel(level)
    if result.err:
        raise PdfUnavailable(
            f"The PDF backend (xhtml2pdf) could not render the report ({result.err} errors)."
        )
    return output.getvalue()
