"""Item 7 of issue #9: the API docs (Swagger UI, ReDoc) work in a lab network without internet: every asset
they load is the site's own (static files from drf-spectacular-sidecar, Swagger UI's start-up script from
the docs view), and their Content-Security-Policy keeps the browser from reaching anywhere else.
tests/test_browser_smoke.py renders both in Chromium with every request outside the site refused."""

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

DOCS_PAGES = ["/api/v1/docs/", "/api/v1/redoc/"]
OUTSIDE_HOST = re.compile(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)


class _Assets(HTMLParser):
    """The URLs a page makes the browser fetch: scripts, stylesheets, icons, preconnects, images."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


def _assets(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize("url", DOCS_PAGES)
def test_docs_page_loads_only_the_sites_own_files(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert not OUTSIDE_HOST.search(html), "the page names an outside host (a CDN, web fonts)"
    assets = _assets(html)
    static_url = f"/{settings.STATIC_URL.strip('/')}/"
    static = [asset for asset in assets if asset.startswith(static_url)]
    assert any(asset.endswith(".js") for asset in static), assets  # Swagger UI / ReDoc itself
    for asset in static:
        assert finders.find(asset.removeprefix(static_url)), f"{asset} is not one of the site's static files"
    for asset in set(assets) - set(static):  # Swagger UI's start-up script
        assert asset.startswith(url), asset
        script = client.get(asset)
        assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
        assert not OUTSIDE_HOST.search(script.content.decode())


@pytest.mark.parametrize("url", DOCS_PAGES)
def test_docs_pages_may_load_nothing_from_elsewhere(client, url):
    """ReDoc's side menu fetches its vendor's logo from a CDN unless the page's policy forbids it."""
    policy = dict(
        directive.strip().split(" ", 1) for directive in client.get(url)["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["img-src"] == "'self' data:"
    assert "unsafe-inline" not in policy.get("script-src", policy["default-src"])


def test_redoc_is_routed_beside_swagger(client):
    assert reverse("api-redoc") == "/api/v1/redoc/"
    assert 'spec-url="/api/v1/schema/"' in client.get("/api/v1/redoc/").content.decode()


@pytest.mark.parametrize("url", DOCS_PAGES)
def test_docs_pages_answer_html_to_a_client_asking_for_json(client, url):
    # API clients send `Accept: application/json`; the page is HTML all the same, never a 406.
    response = client.get(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
