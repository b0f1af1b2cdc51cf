"""Process settings an Incident Manager changes in the admin: one row for the installation."""

from datetime import timedelta

from django.db import models

from ..choices import Severity


class ProcessSettings(models.Model):
    """The process's adjustable defaults (`ProcessSettings.current()`); the first read creates the row."""

    provisional_severity = models.CharField(
        max_length=2,
        choices=Severity.choices,
        default=Severity.S3,
        help_text="The severity an incident gets at logging when the caller gave no urgency and impact; "
        "its response clock runs from logging until classification sets the real one.",
    )
    auto_close_after = models.DurationField(
        default=timedelta(days=5),
        help_text="A resolved incident closes itself when the caller has not answered within this time.",
    )

    class Meta:
        verbose_name = "process settings"
        verbose_name_plural = "process settings"

    def __str__(self):
        return "Process settings"

    @classmethod
    def current(cls) -> "ProcessSettings":
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings
