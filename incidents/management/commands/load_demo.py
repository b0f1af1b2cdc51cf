"""`manage.py load_demo`: demo accounts, the lab's services and months of incident history (`incidents.demo`)."""

import os
import sys
import time
from pathlib import Path

from django.conf import settings
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
        parser.add_argument(
            "--logins-file",
            help="Write the logins table and the alert token, framed with where to sign in and where e-mails "
            "go, to this file (readable by its owner only) instead of printing them: `make run` shows it "
            "last, once the server answers.",
        )

    def handle(self, *args, incidents, seed, quiet, logins_file=None, **options):
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
        if logins_file:
            _write_private(Path(logins_file), _welcome_box(result))
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
        if logins_file:
            self.stdout.write(f"Demo logins and the alert token: {logins_file}")
            return
        self._print_logins(result.logins)
        if result.alert_token:
            self.stdout.write(
                f"\nAlertmanager source 'prometheus': POST /api/v1/alerts/alertmanager/ with "
                f"'Authorization: Bearer {result.alert_token}' (shown once; admin issues new ones)."
            )

    def _print_logins(self, logins):
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Demo logins (admin: /admin/, API: /api/v1/)"))
        for i, line in enumerate(_logins_table(logins)):
            self.stdout.write(self.style.MIGRATE_LABEL(line) if i == 0 else line)


def _logins_table(logins) -> list[str]:
    rows = [("username", "role", "password", "API token")]
    for login in logins:
        password = login.password if login.created else f"{login.password} (unless changed)"
        rows.append((login.username, login.role, password, login.token))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _project_path(path: str) -> str:
    """A path as a newcomer types it from the project folder."""
    try:
        return str(Path(path).relative_to(settings.BASE_DIR))
    except ValueError:
        return path


def _welcome_box(result: demo.Result) -> str:
    """What a newcomer needs after `make run`, in one box: where to sign in, where e-mails go, the logins and
    the alert source's token."""
    site = settings.SITE_URL.rstrip("/")
    lines = [
        f"Sign in at {site}/admin/ with one of these demo logins.",
        f"API: {site}/api/v1/   docs: /api/v1/docs/ (Swagger UI), /api/v1/redoc/ (ReDoc)",
    ]
    if settings.EMAIL_LOG_FILE:
        mail_log = _project_path(settings.EMAIL_LOG_FILE)
        lines.append(f"E-mails are written to {mail_log}  (follow them: tail -f {mail_log})")
    lines += ["", *_logins_table(result.logins), ""]
    if result.alert_token:
        lines += [
            f"Alertmanager source '{demo.DEMO_ALERT_SOURCE}' (its token is shown this once; the admin issues "
            "new ones):",
            f"  POST {site}/api/v1/alerts/alertmanager/",
            f"  Authorization: Bearer {result.alert_token}",
        ]
    else:
        lines.append(
            f"Alertmanager source '{demo.DEMO_ALERT_SOURCE}': its token was shown at the first start only; "
            "the admin issues new ones."
        )
    width = max(len(line) for line in lines)
    return (
        "\n".join(
            [
                f"┌{'─' * (width + 2)}┐",
                *(f"│ {line.ljust(width)} │" for line in lines),
                f"└{'─' * (width + 2)}┘",
            ]
        )
        + "\n"
    )


def _write_private(path: Path, text: str) -> None:
    """Passwords and tokens: readable by the file's owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def _progress_bar(stories, total):
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # its monitor thread would read the travelled clock
    # disable=None: no bar when stderr is not a terminal (CI logs, `make run | tee`)
    return tqdm(stories, total=total, desc="Demo incidents", unit="inc", file=sys.stderr, disable=None)
