"""The site's Content-Security-Policy, on every response (settings.CONTENT_SECURITY_POLICY, one definition
for the admin, the API docs and the caller's pages).

The browser loads and runs nothing from outside the site: no script but the site's own files (the admin,
the workbench's scripts and Swagger UI run no inline script), so injected markup cannot run code. Inline
styles stay allowed: the admin, Swagger UI and ReDoc set style attributes.
"""

from __future__ import annotations

from django.conf import settings

HEADER = "Content-Security-Policy"


def policy_header(policy: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([directive, *sources]) for directive, sources in policy.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.header = policy_header(settings.CONTENT_SECURITY_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault(HEADER, self.header)  # a view may set a stricter one
        return response
