"""`manage.py import_incidents FILE [--dry-run] [--create-services] [--user USERNAME]`: past incidents from
CSV, all or nothing (`incidents.csv_io.import_incidents`)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from incidents.csv_io import COLUMNS, CsvRejected, import_incidents
from incidents.exceptions import Conflict, PermissionDenied
from incidents.management.progress import row_progress, ticking

User = get_user_model()


class Command(BaseCommand):
    help = (
        "Import past incidents from a CSV file with the columns "
        f"{','.join(COLUMNS)} (as `export_incidents` writes them). Every row is checked first and every "
        "error is printed with its row number; nothing is written unless the whole file is clean. Rows "
        "whose number is already stored are left as they are, so running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="The CSV file (UTF-8, header on row 1).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and report; write nothing."
        )
        parser.add_argument(
            "--create-services",
            action="store_true",
            help="Add services missing from the catalogue (slug as name) instead of reporting them.",
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="Who the history names as importer (default: the first superuser).",
        )

    def handle(self, *args, file, dry_run, create_services, user, **options):
        importer = self._importer(user)
        try:
            with open(file, newline="", encoding="utf-8-sig") as stream, row_progress("Reading") as lines:
                result = import_incidents(
                    stream=ticking(stream, lines),
                    user=importer,
                    create_services=create_services,
                    dry_run=dry_run,
                )
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {file}.") from exc
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from exc
        except CsvRejected as exc:
            for error in exc.row_errors:
                self.stderr.write(str(error))
            header = [str(e) for e in exc.row_errors if e.row == 1]
            detail = f" ({'; '.join(header)})" if header else ""
            count = len(exc.row_errors)
            raise CommandError(
                f"{file}: {count} error{'s' if count != 1 else ''}{detail}; nothing was imported."
            ) from exc
        except (PermissionDenied, Conflict) as exc:
            raise CommandError(str(exc)) from exc

        verb = "Would import" if result.dry_run else "Imported"
        lines = [f"{verb} {result.created} of {result.rows} incidents ({result.numbered} with a new number)."]
        if result.numbered:
            lines.append("Rows without a number are new on every run; number them to import them only once.")
        if result.unchanged:
            lines.append(f"{result.unchanged} already stored with the same values: unchanged.")
        if result.skipped_existing:
            lines.append(
                f"{len(result.skipped_existing)} already stored with other values, kept as stored: "
                + ", ".join(result.skipped_existing)
            )
        if result.services_created:
            verb = "Would add" if result.dry_run else "Added"
            lines.append(f"{verb} services: {', '.join(result.services_created)}.")
        if result.dry_run:
            lines.append("Dry run: nothing was written.")
        for line in lines:
            self.stdout.write(line)

    def _importer(self, username):
        if username:
            try:
                return User.objects.get(**{User.USERNAME_FIELD: username})
            except User.DoesNotExist as exc:
                raise CommandError(f"No user named {username!r}.") from exc
        importer = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if importer is None:
            raise CommandError("No active superuser to record as importer; name one with --user USERNAME.")
        return importer
