"""`manage.py major_incident_review INC-000123 --format html|pdf|md|csv|json [--output FILE]`."""

from django.core.management.base import CommandError

from incidents.models import Incident
from reporting import services
from reporting.choices import FORMATS, ReportKind

from ._report_command import ReportCommand


class Command(ReportCommand):
    help = (
        "The review of one major incident: timeline reconstructed from transitions, escalations, "
        "notifications and history; durations; SLA outcome; escalations; communications; and the review's "
        "fields and action items (drafted when the incident is closed, edited in the admin)."
    )
    formats = FORMATS[ReportKind.MAJOR_INCIDENT_REVIEW]

    def add_arguments(self, parser):
        parser.add_argument("number", help="The incident's number, for example INC-000123.")
        super().add_arguments(parser)

    def handle(self, *args, number, format, output, no_store, user=None, **options):
        user = self.user(user)
        fmt = self.check_format(format)
        number = number.strip().upper()
        incident = Incident.objects.filter(number=number).first()
        if incident is None:
            raise CommandError(f"No incident {number!r}.")
        if not incident.is_major:
            raise CommandError(f"{number} is not a major incident: only major incidents have a review.")
        self.run(
            lambda: services.major_incident_review_report(
                incident=incident, fmt=fmt, store=not no_store, user=user
            ),
            output=output,
            fmt=fmt,
        )
