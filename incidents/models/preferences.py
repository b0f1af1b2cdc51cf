"""What each user sets for themselves: the time zone the admin shows times in."""

from django.conf import settings
from django.db import models

from ..limits import validate_time_zone


class UserPreference(models.Model):
    """One row per user who has set a preference; a user without one sees times in `TIME_ZONE`.
    `incidents.middleware.UserTimeZoneMiddleware` activates the zone for each of the user's requests."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="An IANA time zone (Europe/Madrid, UTC); empty for the site's time zone.",
    )

    class Meta:
        verbose_name = "preference"
        verbose_name_plural = "preferences"

    def __str__(self):
        return f"Preferences of {self.user}"
