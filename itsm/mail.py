"""Development mail: every message appended to one file (`make run`: var/log/mail.log) that a newcomer can
follow with `tail -f`, instead of pages of e-mails in the Celery worker's output. Settings: EMAIL_LOG_FILE."""

import fcntl
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend


class AppendToFileEmailBackend(ConsoleEmailBackend):
    """Writes each message as the console backend prints it (headers, body, a line of dashes), appended to
    `settings.EMAIL_LOG_FILE`. The worker's pool processes and the web server share the file: an exclusive
    lock while writing keeps each batch of messages whole."""

    def __init__(self, *args, file_path: str | Path | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.file_path = Path(file_path or settings.EMAIL_LOG_FILE)

    def send_messages(self, email_messages) -> int:
        if not email_messages:
            return 0
        self.file_path.parent.mkdir(parents=True, exist_ok=True)
        with self.file_path.open("a", encoding="utf-8") as stream:
            fcntl.flock(stream, fcntl.LOCK_EX)  # released when the file closes
            self.stream = stream
            try:
                return super().send_messages(email_messages)
            finally:
                self.stream = None
