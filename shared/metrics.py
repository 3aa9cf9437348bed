"""Prometheus metrics of every service, served at ``GET /metrics`` (text exposition format).

Names follow the Prometheus conventions (``doorstroom_..._total``, base units); the list is the one
the alert rules and dashboards of ``deploy/observability`` are written against, so change a name
only together with them. Labels never carry personal data or ids: HTTP routes are the route
templates (``/v1/dossiers/{dossier_id}``, or ``unmatched``), consumers are counted by event type.

Counters and histograms are updated where the work happens (cheap: in memory). The gauges of what
is in the database or the broker (outbox rows pending, deliveries by state, queue depths, parked
messages) are sampled by ``Sampler``: at each scrape (at most once a second), and every few
seconds by a background loop so that every process of a multi-process service keeps its own
values (pool, broker link) current.

With ``WORKERS`` > 1 the runner (``shared/runner.py``) sets ``PROMETHEUS_MULTIPROC_DIR``: each
process writes its values to files there and any process answers a scrape with the sum over all
(prometheus-client's multiprocess mode). Gauges say how they combine (``multiprocess_mode``).

``/metrics`` needs no login, like ``/healthz``: keep it on the internal network (compose and the
Kubernetes manifests do not publish it).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import TYPE_CHECKING, Awaitable, Callable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics import disable_created_metrics

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

disable_created_metrics()  # no *_created series beside every counter and histogram: half the series

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# --------------------------------------------------------------------------- HTTP
HTTP_REQUESTS = Counter("doorstroom_http_requests_total", "HTTP requests answered, by route template",
                        ["service", "route", "method", "status"])
HTTP_DURATION = Histogram("doorstroom_http_request_duration_seconds", "Time to answer an HTTP request",
                          ["service", "route", "method"],
                          buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))

# --------------------------------------------------------------------------- outbox
OUTBOX_PENDING = Gauge("doorstroom_outbox_pending_rows", "Outbox rows not published yet (parked ones not counted)",
                       ["service"], multiprocess_mode="livemostrecent")
OUTBOX_OLDEST = Gauge("doorstroom_outbox_oldest_pending_age_seconds",
                      "Age of the oldest outbox row not published yet (0 when none)", ["service"],
                      multiprocess_mode="livemostrecent")
OUTBOX_PUBLISHED = Counter("doorstroom_outbox_published_total", "Events published from the outbox", ["service"])
OUTBOX_FAILED = Counter("doorstroom_outbox_failed_total", "Outbox publications the broker refused", ["service"])
OUTBOX_PARKED = Counter("doorstroom_outbox_parked_total", "Outbox rows parked after their last attempt",
                        ["service"])

# --------------------------------------------------------------------------- consumers
CONSUMER_MESSAGES = Counter("doorstroom_consumer_messages_total",
                            "Consumed events by type and outcome (handled, duplicate, retried, parked)",
                            ["service", "event_type", "outcome"])
CONSUMER_DURATION = Histogram("doorstroom_consumer_handling_duration_seconds",
                              "Time to handle one event (its transaction included)", ["service", "event_type"],
                              buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
PARKED_MESSAGES = Gauge("doorstroom_parked_messages",
                        "Messages parked now: in the service's parking queue, and outbox rows parked",
                        ["service"], multiprocess_mode="livemostrecent")
QUEUE_READY = Gauge("doorstroom_queue_messages_ready", "Messages ready in the service's own consumer queues",
                    ["service", "queue"], multiprocess_mode="livemostrecent")

# --------------------------------------------------------------------------- notification, document
DELIVERIES = Gauge("doorstroom_deliveries", "Deliveries (mails) by state", ["state"],
                   multiprocess_mode="livemostrecent")
DELIVERY_ATTEMPTS = Counter("doorstroom_delivery_attempts_total", "Attempts to send a mail, by outcome "
                            "(sent, retry, failed)", ["outcome"])
SMTP_SEND = Histogram("doorstroom_smtp_send_duration_seconds", "Time to hand one mail to the SMTP server",
                      buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60))
PRINT_JOBS = Counter("doorstroom_print_jobs_total", "Print jobs by the state they reached "
                     "(queued, done, retried, failed)", ["state"])
PRINT_RENDER = Histogram("doorstroom_print_render_duration_seconds",
                         "Time to render one piece of a print job (or to merge the pieces)",
                         buckets=(.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300))

# --------------------------------------------------------------------------- resources
DB_POOL = Gauge("doorstroom_db_pool_connections", "Database pool connections by state (in_use, idle)",
                ["service", "state"], multiprocess_mode="livesum")
DB_WAITING = Gauge("doorstroom_db_pool_waiting", "Tasks waiting for a database connection", ["service"],
                   multiprocess_mode="livesum")
BROKER_CONNECTED = Gauge("doorstroom_broker_connected", "1 when the link to RabbitMQ is up (every process)",
                         ["service"], multiprocess_mode="livemin")
READY = Gauge("doorstroom_ready", "1 when the service is ready (as /readyz answers)", ["service"],
              multiprocess_mode="livemin")

# Families without a service label, and the service whose /metrics shows them (several services
# share a process in the tests; in production each process is one service anyway).
_OWNED = {"doorstroom_deliveries": "notification", "doorstroom_delivery_attempts": "notification",
          "doorstroom_smtp_send_duration_seconds": "notification", "doorstroom_print_jobs": "document",
          "doorstroom_print_render_duration_seconds": "document"}


def route_of(request) -> str:
    """The route template of an aiohttp request (``/v1/dossiers/{dossier_id}``), never its path."""
    resource = request.match_info.route.resource
    if resource is None:
        return UNMATCHED
    return resource.canonical


def method_of(request) -> str:
    return request.method if request.method in METHODS else "OTHER"


# --------------------------------------------------------------------------- sampling

# extra samplers per service: ``async def sample(conn)`` sets gauges from the service's own tables
Sample = Callable[["asyncpg.Connection"], Awaitable[None]]
_SAMPLERS: dict[str, list[Sample]] = {}


def add_sampler(service: str, sample: Sample) -> None:
    """Register a gauge sampler of ``service`` (called at import of the module that owns the table)."""
    if sample not in _SAMPLERS.setdefault(service, []):
        _SAMPLERS[service].append(sample)


def pool_stats(pool) -> tuple[int, int, int]:
    """(in use, idle, waiting) of an asyncpg pool."""
    holders = getattr(pool, "_holders", ()) or ()
    in_use = sum(1 for h in holders if getattr(h, "_in_use", None) is not None)
    idle = pool.get_idle_size() if hasattr(pool, "get_idle_size") else 0
    queue = getattr(pool, "_queue", None)
    getters = getattr(queue, "_getters", ()) or ()
    waiting = sum(1 for g in getters if not g.done())
    return in_use, idle, waiting


# Each part is answered by one of the outbox's partial indexes (fresh, retry, parked), so a scrape
# never reads the published rows kept for the record (30 days of them).
_FRESH = "published_at IS NULL AND attempts = 0"
_RETRY = "published_at IS NULL AND attempts > 0 AND parked_at IS NULL"
OUTBOX_QUERY = f"""SELECT (SELECT count(*) FROM outbox WHERE {_FRESH})
                          + (SELECT count(*) FROM outbox WHERE {_RETRY}) AS pending,
                          greatest(0, coalesce(extract(epoch FROM now() - least(
                              (SELECT created_at FROM outbox WHERE {_FRESH} ORDER BY id LIMIT 1),
                              (SELECT min(created_at) FROM outbox WHERE {_RETRY}))), 0)) AS oldest,
                          (SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL AND published_at IS NULL)
                              AS parked"""


class Sampler:
    """Sets the gauges of one service: at a scrape (``refresh``) and every ``interval`` seconds."""

    def __init__(self, service: str, *, interval: float = 5.0) -> None:
        self.service = service
        self.interval = interval
        self.pool = None
        self.broker = None
        self.queues: list[str] = []
        self._lock = asyncio.Lock()
        self._last = 0.0

    async def refresh(self, *, min_age: float = 1.0) -> None:
        async with self._lock:
            if time.monotonic() - self._last < min_age:
                return
            try:
                await self._sample()
            finally:
                self._last = time.monotonic()

    async def _sample(self) -> None:
        s = self.service
        connected = bool(self.broker is not None and self.broker.is_connected)
        BROKER_CONNECTED.labels(s).set(1 if connected else 0)
        database = False
        parked = 0
        if self.pool is not None:
            in_use, idle, waiting = pool_stats(self.pool)
            DB_POOL.labels(s, "in_use").set(in_use)
            DB_POOL.labels(s, "idle").set(idle)
            DB_WAITING.labels(s).set(waiting)
            try:
                async with asyncio.timeout(3):
                    async with self.pool.acquire() as conn:
                        row = await conn.fetchrow(OUTBOX_QUERY)
                        database = True
                        OUTBOX_PENDING.labels(s).set(row["pending"])
                        OUTBOX_OLDEST.labels(s).set(float(row["oldest"]))
                        parked += row["parked"]
                        for sample in _SAMPLERS.get(s, ()):
                            await sample(conn)
            except Exception as exc:  # noqa: BLE001 - a scrape never fails on a sampler
                log.debug("metrics sample failed", extra={"fields": {"error": type(exc).__name__}})
        if connected and self.queues:
            parked += await self._queue_depths()
        PARKED_MESSAGES.labels(s).set(parked)
        READY.labels(s).set(1 if (database and connected) else 0)

    async def _queue_depths(self) -> int:
        """Messages ready in each of the service's queues (passive declares on a channel of its
        own); returns those of the parking queues."""
        parked = 0
        connection = getattr(self.broker, "connection", None)
        if connection is None:
            return 0
        try:
            async with asyncio.timeout(3):
                channel = await connection.channel()
                try:
                    for name in self.queues:
                        queue = await channel.declare_queue(name, passive=True)
                        count = queue.declaration_result.message_count or 0
                        QUEUE_READY.labels(self.service, name).set(count)
                        if name.endswith(".parked"):
                            parked += count
                finally:
                    if not channel.is_closed:
                        await channel.close()
        except Exception as exc:  # noqa: BLE001 - a queue not there yet, the link gone: next time
            log.debug("queue depth sample failed", extra={"fields": {"error": type(exc).__name__}})
        return parked

    async def run(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.refresh(min_age=self.interval / 2)
            await asyncio.sleep(self.interval)


# --------------------------------------------------------------------------- exposition

def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def registry() -> CollectorRegistry:
    if not multiprocess():
        return REGISTRY
    from prometheus_client import multiprocess as mp

    combined = CollectorRegistry()
    mp.MultiProcessCollector(combined)
    return combined


class _Filtered:
    """The families of a registry as one service shows them: series of other services (sharing the
    process in the tests) and families owned by another service left out."""

    def __init__(self, source: CollectorRegistry, service: str) -> None:
        self.source, self.service = source, service

    def collect(self):
        for family in self.source.collect():
            owner = _OWNED.get(family.name)
            if owner is not None and owner != self.service:
                continue
            samples = [s for s in family.samples if s.labels.get("service", self.service) == self.service]
            if family.samples and not samples:
                continue
            family.samples = samples
            yield family


def exposition(service: str) -> bytes:
    filtered = CollectorRegistry(auto_describe=False)
    filtered.register(_Filtered(registry(), service))
    return generate_latest(filtered)


# the classic text format (what generate_latest writes), which every Prometheus version reads
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def mark_process_dead(pid: int) -> None:
    """After a worker process ended (multiprocess mode): its live gauges no longer count."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        with contextlib.suppress(Exception):
            mp.mark_process_dead(pid)
