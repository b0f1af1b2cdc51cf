"""What the report commands share: --format, --output (stdout when absent), --no-store, a progress bar over
the stages of the work, and domain errors turned into CommandError."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reporting.pdf import PdfUnavailable
from reporting.renderers import UnknownFormat


class ReportCommand(BaseCommand):
    formats: tuple[str, ...] = ()
    default_format = "html"

    def add_arguments(self, parser):
        parser.add_argument(
            "--format",
            default=self.default_format,
            help=f"One of {', '.join(self.formats)} (default {self.default_format}).",
        )
        parser.add_argument("--output", "-o", help="Write to this file instead of standard output.")
        parser.add_argument(
            "--no-store", action="store_true", help="Do not keep a copy among the stored reports (admin)."
        )

    def check_format(self, fmt: str) -> str:
        fmt = (fmt or "").lower()
        if fmt not in self.formats:
            raise CommandError(f"Unknown format {fmt!r}: use one of {', '.join(self.formats)}.")
        return fmt

    def progress(self, stages: list[str]):
        """A bar over the stages of the work (on a terminal only; silent in logs and tests)."""
        from tqdm import tqdm

        return tqdm(
            total=len(stages), desc=stages[0], unit="step", file=sys.stderr, disable=None, leave=False
        )

    def run(self, generate, *, output: str | None, fmt: str):
        """Call `generate()` (a service returning a GeneratedReport), then write the result."""
        if fmt == "pdf" and not output and not hasattr(self.stdout._out, "buffer"):
            raise CommandError("PDF is binary: give --output FILE.")
        try:
            report = generate()
        except PdfUnavailable as exc:
            raise CommandError(str(exc)) from exc
        except UnknownFormat as exc:
            raise CommandError(str(exc)) from exc
        if output:
            path = Path(output)
            try:
                path.write_bytes(report.content)
            except OSError as exc:
                raise CommandError(f"Cannot write {path}: {exc.strerror}.") from exc
            stored = f"; stored as report #{report.stored.pk}" if report.stored else ""
            self.stderr.write(f"Wrote {path} ({len(report.content):,} bytes){stored}.")
        elif fmt == "pdf":
            self.stdout.flush()
            self.stdout._out.buffer.write(report.content)
        else:
            self.stdout.write(report.content.decode(), ending="")
        return report
