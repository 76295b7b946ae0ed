"""Prometheus metrics, served at ``/metrics`` (prometheus-client).

Counted where things happen: HTTP requests by route template, method and status, with
their latencies (``web.logs.RequestLog``); copies issued by format (``delivery.issue``);
traces by outcome (``reports.trace``); group-robot deliveries by outcome
(``live.bot_sender``). Read from the database when scraped: the job queue's depth and the
age of its oldest waiting job, and this node's search index lag (changes recorded but not
yet in the index, and whether it is being rebuilt).

``wenxing serve --workers N`` runs several processes: they write their counters into
``PROMETHEUS_MULTIPROC_DIR`` (set up by ``wenxing serve``), and whichever worker answers a
scrape adds them all up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the client writes there from the first metric
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from wenxing.db.base import utcnow
from wenxing.jobs import Job

REQUESTS = Counter("wenxing_http_requests", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram(
    "wenxing_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
COPIES = Counter("wenxing_copies_issued", "Copies issued (logged) by format", ["format"])
TRACES = Counter("wenxing_traces", "Evidence traced, by outcome", ["outcome"])
ROBOT_DELIVERIES = Counter(
    "wenxing_robot_deliveries", "Group-robot deliveries tried, by outcome", ["outcome"]
)
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Every series exists from the start (at 0), so a dashboard's rate() sees its first event.
for _name in ("html", "txt", "docx", "pdf"):
    COPIES.labels(_name)
for _name in ("accused", "none", "no_material"):
    TRACES.labels(_name)
for _name in ("sent", "retry", "failed"):
    ROBOT_DELIVERIES.labels(_name)


class DatabaseCollector:
    """Gauges read from the database at scrape time (the search index's from
    ``runtime.search_index_state``: the runtime knows this node's index)."""

    def __init__(self, runtime):
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:

        depth = GaugeMetricFamily(
            "wenxing_job_queue_depth", "Background jobs waiting or running", labels=["state"]
        )
        age = GaugeMetricFamily(
            "wenxing_job_queue_oldest_seconds", "Age of the oldest job still waiting"
        )
        lag = GaugeMetricFamily(
            "wenxing_search_index_lag_changes",
            "Search changes recorded in the database and not yet in this node's index",
        )
        rebuilding = GaugeMetricFamily(
            "wenxing_search_index_rebuilding", "1 while this node's search index is rebuilt"
        )
        try:
            with self.runtime.db.reading() as session:
                counts = dict(
                    session.execute(
                        select(Job.state, func.count())
                        .where(Job.state.in_(("queued", "running")))
                        .group_by(Job.state)
                    ).all()
                )
                oldest = session.scalar(
                    select(func.min(Job.created_at)).where(Job.state == "queued")
                )
                behind, rebuilt = self.runtime.search_index_state(session)
        except Exception:  # the database is away: /readyz says so; no gauges this scrape
            return
        for state in ("queued", "running"):
            depth.add_metric([state], counts.get(state, 0))
        age.add_metric([], (utcnow() - oldest).total_seconds() if oldest else 0.0)
        lag.add_metric([], behind)
        rebuilding.add_metric([], 1 if rebuilt else 0)
        yield from (depth, age, lag, rebuilding)


def exposition(runtime) -> bytes:
    """The text a scrape gets: every process's counters and the database's gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for metric in (REQUESTS, LATENCY, COPIES, TRACES, ROBOT_DELIVERIES):
            registry.register(_Forward(metric))
    registry.register(DatabaseCollector(runtime))
    return generate_latest(registry)


class _Forward:
    """One of this process's metrics, shown in a scrape's registry."""

    def __init__(self, metric):
        self.metric = metric

    def collect(self):
        return self.metric.collect()
