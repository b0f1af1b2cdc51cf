"""An alert source's system account and token: who acts on the incidents it raises, and how it signs in."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction

from ..exceptions import PermissionDenied
from ..models import AlertSource
from ..models.alerts import hash_token

User = get_user_model()

# What a source's system account may do: raise (any signed-in user may log), classify, resolve on
# recovery and reopen when its alerts fire again. Granted directly, not through the Service Desk group, so
# the account is never a tier member that escalations notify, rotas list or the admin offers as an assignee.
ACCOUNT_PERMISSIONS = ("classify_incident", "investigate_incident", "resolve_incident", "reopen_incident")


def alert_source_account(*, source: AlertSource):
    """The source's system account, created on first use: active (permission checks need it), without a
    usable password or API token (so nobody can sign in as it), not staff, in no role group, holding
    `ACCOUNT_PERMISSIONS` directly. It reports, classifies, resolves and reopens what the source raises,
    so the incident's history and timeline name the integration that acted."""
    if source.account_id is not None:
        return source.account
    with transaction.atomic():
        locked = AlertSource.objects.select_for_update().get(pk=source.pk)
        if locked.account_id is None:
            locked.account = _new_account(locked)
            locked._change_reason = "system account created"
            locked.save(update_fields=["account"])
    source.account = locked.account
    return source.account


def _new_account(source: AlertSource):
    base = f"monitoring-{source.slug}"
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    account = User(username=username, first_name="Monitoring", last_name=source.name[:150], is_staff=False)
    account.set_unusable_password()
    account.save()
    account.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="incidents", codename__in=ACCOUNT_PERMISSIONS)
    )
    return account


@transaction.atomic
def alert_source_issue_token(*, source: AlertSource, user) -> str:
    """Give the source a new token; the old one stops working at once. Returns the token, which is not
    stored (only its hash is): the caller shows it once."""
    if not user.has_perm("incidents.change_alertsource"):
        raise PermissionDenied("You may not change alert sources.")
    locked = AlertSource.objects.select_for_update().get(pk=source.pk)
    token = locked.issue_token()
    locked._history_user = user
    locked._change_reason = "new token issued"
    locked.save()
    return token


def alert_source_authenticate(token: str) -> AlertSource | None:
    """The active source holding `token`, or None (unknown and revoked look the same to the caller)."""
    if not token:
        return None
    source = (
        AlertSource.objects.select_related("account", "default_service")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if source is None or not source.token_matches(token) or not source.is_active:
        return None
    return source
