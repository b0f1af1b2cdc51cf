"""API tokens as the admin lists them (incidents.admin.tokens). The tokens themselves are DRF's
(`rest_framework.authtoken`, one per user; lifetime and revocation in incidents.tokens)."""

from rest_framework.authtoken.models import TokenProxy


class ApiToken(TokenProxy):
    """Named by its holder, never by its key: the admin puts an object's name in titles, breadcrumbs,
    confirmations and its action log, and a key shown is a key anyone on that page could use."""

    class Meta:
        proxy = True
        verbose_name = "API token"
        verbose_name_plural = "API tokens"

    def __str__(self):
        return f"API token of {self.user}"
