"""`manage.py incident_summary --week 2026-W47 --format html|md|csv|json [--output FILE]`."""

from django.core.management.base import CommandError

from reporting import services
from reporting.choices import FORMATS, ReportKind
from reporting.periods import parse_week

from ._report_command import ReportCommand


class Command(ReportCommand):
    help = (
        "The weekly incident summary of an ISO week (Monday to Monday in settings.TIME_ZONE): every incident "
        "created, resolved or open during the week, breaches first, and the week's KPIs."
    )
    formats = FORMATS[ReportKind.WEEKLY_SUMMARY]

    def add_arguments(self, parser):
        parser.add_argument("--week", required=True, help="ISO week YYYY-Www, for example 2026-W47.")
        super().add_arguments(parser)

    def handle(self, *args, week, format, output, no_store, user=None, **options):
        user = self.user(user)
        fmt = self.check_format(format)
        try:
            period = parse_week(week)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        bar = self.progress(["aggregating and rendering"])
        try:
            self.run(
                lambda: services.weekly_summary_report(week=period, fmt=fmt, store=not no_store, user=user),
                output=output,
                fmt=fmt,
            )
            bar.update()
        finally:
            bar.close()
