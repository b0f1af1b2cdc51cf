"""On-call calendar feeds: the secret addresses people subscribe to (`models.CalendarFeed`)."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.exceptions import PermissionDenied

from ..models import CalendarFeed, Rotation, new_calendar_token

logger = logging.getLogger(__name__)

RESET_PERMISSION = "escalation.change_calendarfeed"


def _get_or_create(**owner) -> CalendarFeed:
    try:
        with transaction.atomic():
            feed, _ = CalendarFeed.objects.get_or_create(**owner)
    except IntegrityError:  # created concurrently by another request: that one is the feed
        feed = CalendarFeed.objects.get(**owner)
    return feed


def calendar_feed_for_user(*, user: AbstractBaseUser) -> CalendarFeed:
    """The user's own feed (their shifts in every rotation), issued the first time it is asked for."""
    return _get_or_create(user=user)


def calendar_feed_for_rotation(*, rotation: Rotation) -> CalendarFeed:
    """The rotation's feed (everyone's shifts, overrides included), issued the first time it is asked for."""
    return _get_or_create(rotation=rotation)


def may_reset(*, feed: CalendarFeed, user: AbstractBaseUser) -> bool:
    """A person resets their own address; Incident Managers (`change_calendarfeed`) reset any."""
    return (feed.user_id is not None and feed.user_id == user.pk) or user.has_perm(RESET_PERMISSION)


@transaction.atomic
def calendar_feed_reset(*, feed: CalendarFeed, user: AbstractBaseUser) -> CalendarFeed:
    """Issue the feed a new token: the old address answers 404 from now on (a leaked address, someone who
    left the team), and whoever should keep subscribing is given the new one."""
    if not may_reset(feed=feed, user=user):
        raise PermissionDenied("Only Incident Managers may reset another calendar's address.")
    locked = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
    locked.token, locked.issued_at = new_calendar_token(), timezone.now()
    locked.save(update_fields=["token", "issued_at"])
    logger.info("Calendar feed %s reset by %s", locked.pk, user.get_username())
    return locked
