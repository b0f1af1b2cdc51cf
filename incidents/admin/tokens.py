"""API tokens in the admin: who holds one and until when, never the key itself (a key shown here is a key
anyone allowed on this page could use). Deleting a token revokes it: its holder signs in again."""

from django.contrib import admin
from rest_framework.authtoken.admin import TokenAdmin as RestFrameworkTokenAdmin
from rest_framework.authtoken.models import TokenProxy

from incidents import tokens
from incidents.models import ApiToken

# rest_framework.authtoken (earlier in INSTALLED_APPS) registered its own, which shows the keys.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class TokenAdmin(RestFrameworkTokenAdmin):
    """DRF's token admin (its change list links a token by its user's id), on a proxy named by the holder."""

    list_display = ("user", "key_hint", "created", "expires_at", "is_expired")
    list_select_related = ("user",)
    fields = ("user", "key_hint", "created", "expires_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # tokens are issued by POST /api/v1/auth/token/ to their holder only

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        tokens.api_tokens_revoke(user=obj.user)

    @admin.display(description="key starts with")
    def key_hint(self, token):
        return f"{token.key[:4]}…"

    @admin.display(description="expires")
    def expires_at(self, token):
        return tokens.token_expires_at(token)

    @admin.display(boolean=True, description="expired")
    def is_expired(self, token):
        return tokens.token_is_expired(token)
