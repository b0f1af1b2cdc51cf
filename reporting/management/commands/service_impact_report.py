"""`manage.py service_impact_report --month 2026-10 --format html|pdf|md|csv|json [--output FILE]`."""

from django.core.management.base import CommandError

from reporting import services
from reporting.choices import FORMATS, ReportKind
from reporting.periods import parse_month

from ._report_command import ReportCommand


class Command(ReportCommand):
    help = (
        "The monthly service-impact report: per service, incidents by severity, outage and degraded minutes, "
        "availability, MTTR, SLA compliance and reopen rate, with totals, a six-month trend and "
        "recommendations. Months are calendar months in settings.TIME_ZONE."
    )
    formats = FORMATS[ReportKind.SERVICE_IMPACT]

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM, for example 2026-10.")
        super().add_arguments(parser)

    def handle(self, *args, month, format, output, no_store, user=None, **options):
        user = self.user(user)
        fmt = self.check_format(format)
        try:
            period = parse_month(month)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        bar = self.progress(["aggregating, drawing and rendering", "writing"])
        try:
            self.run(
                lambda: services.service_impact_report(month=period, fmt=fmt, store=not no_store, user=user),
                output=output,
                fmt=fmt,
            )
            bar.update()
        finally:
            bar.close()
