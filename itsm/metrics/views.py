"""GET /metrics: Prometheus' text format.

Request counts and latencies (django-prometheus' middlewares) are counted in each web process. Under
gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR to an empty folder before it starts and every
scrape adds up all workers' counts (prometheus_client's multiprocess mode); without it each scrape shows the
counts of whichever worker answered. The application's gauges come from the database and are the same
whichever process answers."""

import os

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from .access import refusal
from .collector import ApplicationCollector

# Registered once, in a registry of its own: it is read from the database, never per process.
APPLICATION = CollectorRegistry(auto_describe=False)
APPLICATION.register(ApplicationCollector())


def _process_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # every worker's counts, summed from the folder
        return registry
    return REGISTRY


def exposition() -> bytes:
    return generate_latest(_process_registry()) + generate_latest(APPLICATION)


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    refused = refusal(request)
    if refused is not None:
        return refused
    # The classic text format's type: every Prometheus release reads it (Debian 12 ships 2.42).
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
