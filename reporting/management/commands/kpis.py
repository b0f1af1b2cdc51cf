"""`manage.py kpis --start 2026-10-01 --end 2026-11-01 [--format md|csv|json] [--output FILE]`."""

from django.core.management.base import CommandError

from reporting import services
from reporting.choices import FORMATS, ReportKind
from reporting.periods import day_range, parse_day

from ._report_command import ReportCommand


class Command(ReportCommand):
    help = (
        "The KPIs of [start, end) (end exclusive; local midnights in settings.TIME_ZONE): MTTR, first "
        "response (mean and p90), reopen rate, SLA compliance, counts, each against the seed's target."
    )
    formats = FORMATS[ReportKind.KPIS]
    default_format = "md"

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--end", required=True, help="Day after the last, YYYY-MM-DD (exclusive).")
        parser.add_argument("--format", default="md", help="md (default), csv or json.")
        parser.add_argument("--output", "-o", help="Write to this file instead of standard output.")
        parser.add_argument("--store", action="store_true", help="Also keep a copy among the stored reports.")

    def handle(self, *args, start, end, format, output, store, **options):
        fmt = self.check_format(format)
        try:
            period = day_range(parse_day(start, name="--start"), parse_day(end, name="--end"))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.run(lambda: services.kpi_report(period=period, fmt=fmt, store=store), output=output, fmt=fmt)
