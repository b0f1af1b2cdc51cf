"""The API's documentation pages, Swagger UI (/api/v1/docs/) and ReDoc (/api/v1/redoc/), served from the
site's own static files (drf-spectacular-sidecar) so that they work in a lab network without internet.

The site-wide Content-Security-Policy (itsm.csp, settings.CONTENT_SECURITY_POLICY) lets the browser load
nothing from outside the site: ReDoc's side menu would otherwise fetch its vendor's logo from a CDN on every
visit. Swagger UI runs no inline script (its start-up script is this same view with `?script`), so scripts
are held to the site's own too."""

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.negotiation import BaseContentNegotiation


class HtmlWhateverAccepted(BaseContentNegotiation):
    """A documentation page is HTML whatever the client asks for: a client sending `Accept:
    application/json` (as API clients do) gets the page rather than a 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class SwaggerView(SpectacularSwaggerSplitView):
    content_negotiation_class = HtmlWhateverAccepted


class RedocView(SpectacularRedocView):
    content_negotiation_class = HtmlWhateverAccepted
    template_name = "api/redoc.html"  # drf-spectacular's own loads web fonts from Google
