"""Receivers for other apps' signals (here django.contrib.auth's user model), connected in IncidentsConfig."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import pre_save
from django.dispatch import receiver

from incidents import tokens


@receiver(
    pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="incidents.revoke_tokens_on_password_change"
)
def revoke_api_tokens_on_password_change(sender, instance, raw=False, update_fields=None, **kwargs):
    """A new password hash, however it was set (the admin, `changepassword`, `set_password()` anywhere),
    revokes the API token issued under the old one, as Django's session hash signs out other sessions."""
    if raw or instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    stored = sender._default_manager.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        tokens.api_tokens_revoke(user=instance)
