"""`manage.py load_demo`: demo accounts, the lab's services and months of incident history (`incidents.demo`)."""

import os
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from incidents import demo
from incidents.exceptions import PermissionDenied, TransitionNotAllowed, ValidationError

MAX_INCIDENTS = 20_000


class Command(BaseCommand):
    help = (
        "Create the demo users (one per role, password from $DEMO_PASSWORD), the lab's services and "
        "about six months of incident history, all through the incident services. Safe to run on every "
        "start: accounts and services are only added when missing, and history is only generated into a "
        "database that has no incidents yet."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--incidents",
            type=int,
            default=demo.DEFAULT_INCIDENTS,
            help=f"How many incidents of history to generate (default {demo.DEFAULT_INCIDENTS}; 0 for none).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEFAULT_SEED,
            help="Random seed; the same seed gives the same story.",
        )
        parser.add_argument(
            "--quiet", action="store_true", help="No progress bar and no summary or logins table."
        )

    def handle(self, *args, incidents, seed, quiet, **options):
        try:
            incidents = int(incidents)
        except (TypeError, ValueError) as exc:
            raise CommandError(f"--incidents must be a whole number, not {incidents!r}.") from exc
        if not 0 <= incidents <= MAX_INCIDENTS:
            raise CommandError(f"--incidents must be between 0 and {MAX_INCIDENTS}, not {incidents}.")
        quiet = quiet or options.get("verbosity", 1) == 0
        password = os.environ.get("DEMO_PASSWORD") or demo.DEFAULT_PASSWORD

        started = time.monotonic()
        try:
            result = demo.load_demo(
                incidents=incidents, seed=seed, password=password, progress=None if quiet else _progress_bar
            )
        except ValidationError as exc:
            raise CommandError(f"Demo data not loaded: {'; '.join(exc.messages)}") from exc
        except (PermissionDenied, TransitionNotAllowed) as exc:
            raise CommandError(f"Demo data not loaded: {exc}") from exc
        if quiet:
            return

        if result.incidents_created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Generated {result.incidents_created} incidents and {result.problems_created} problems "
                    f"in {time.monotonic() - started:.1f} s."
                )
            )
        elif result.incidents_existing:
            self.stdout.write(
                f"{result.incidents_existing} incidents already in the database: no demo history added."
            )
        if result.services_created:
            self.stdout.write(f"Added {result.services_created} services to the catalogue.")
        self._print_logins(result.logins)
        if result.alert_token:
            self.stdout.write(
                f"\nAlertmanager source 'prometheus': POST /api/v1/alerts/alertmanager/ with "
                f"'Authorization: Bearer {result.alert_token}' (shown once; admin issues new ones)."
            )

    def _print_logins(self, logins):
        rows = [("username", "role", "password", "API token")]
        for login in logins:
            password = login.password if login.created else f"{login.password} (unless changed)"
            rows.append((login.username, login.role, password, login.token))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Demo logins (admin: /admin/, API: /api/v1/)"))
        for i, row in enumerate(rows):
            line = "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
            self.stdout.write(self.style.MIGRATE_LABEL(line) if i == 0 else line)


def _progress_bar(stories, total):
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # its monitor thread would read the travelled clock
    # disable=None: no bar when stderr is not a terminal (CI logs, `make run | tee`)
    return tqdm(stories, total=total, desc="Demo incidents", unit="inc", file=sys.stderr, disable=None)
