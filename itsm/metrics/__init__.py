"""GET /metrics for the lab's Prometheus: the web processes' request metrics (django-prometheus) and the
application's own gauges read from the database at each scrape, behind a token or an address allow-list."""
