"""`manage.py export_incidents --start 2026-10-01 --end 2026-11-01 [--output FILE] [--user USERNAME]`:
incidents as CSV."""

from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from incidents.csv_io import export_incidents
from incidents.exceptions import ValidationError
from incidents.management.progress import CountedWriter, row_progress


class Command(BaseCommand):
    help = (
        "Write the incidents logged from --start up to (not including) --end, dates in the server's "
        "time zone, as CSV ordered by number: the file `import_incidents` reads back."
    )

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--end", required=True, help="Day after the last one, YYYY-MM-DD (exclusive).")
        parser.add_argument("--output", metavar="FILE", help="Write to FILE instead of standard output.")
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="Export only the incidents this account may see (default: every incident).",
        )

    def handle(self, *args, start, end, output, user=None, **options):
        start, end = parse_day(start, "--start"), parse_day(end, "--end")
        reader = None
        if user:
            reader = get_user_model().objects.filter(username=user, is_active=True).first()
            if reader is None:
                raise CommandError(f"No active account {user!r}.")
        if start >= end:
            raise CommandError(f"--end ({end}) must come after --start ({start}); the end day is excluded.")
        try:
            if output is None:
                export_incidents(start=start, end=end, stream=self.stdout, user=reader)
                return
            with open(output, "w", newline="", encoding="utf-8") as stream, row_progress("Exporting") as bar:
                count = export_incidents(start=start, end=end, stream=CountedWriter(stream, bar), user=reader)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror or exc}.") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stderr.write(f"Exported {count} incidents to {output}.")


def parse_day(value: str, option: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise CommandError(f"{option} must be a date as YYYY-MM-DD, not {value!r}.") from exc
