"""The aiohttp app factory every service uses: one cleanup context per resource, typed keys,
problem+json errors, request ids, health and readiness, OpenAPI."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import AsyncIterator, Awaitable, Callable

import asyncpg
from aiohttp import web

from shared import db, metrics, tracing
from shared.api import Api, json_response
from shared.auth import VERIFIER, TokenVerifier
from shared.bus import Archive, Broker
from shared.consumer import Consumer, Subscription
from shared.logs import log_fields, request_id_var
from shared.loops import keep_trying, stop_task
from shared.outbox import Outbox, OutboxRelay
from shared.problems import Problem
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", ServiceSettings)
DB = web.AppKey("db", asyncpg.Pool)
BROKER = web.AppKey("broker", Broker)
OUTBOX = web.AppKey("outbox", Outbox)
RELAY = web.AppKey("relay", OutboxRelay)
CONSUMER = web.AppKey("consumer", Consumer)
SAMPLER = web.AppKey("metrics_sampler", metrics.Sampler)
SERVICE = web.AppKey("service_name", str)
API = web.AppKey("api", Api)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CleanupCtx = Callable[[web.Application], AsyncIterator[None]]


@dataclass
class ServiceSpec:
    """What makes one service: its name, migrations, API, subscriptions and extra resources."""

    name: str
    api: Api
    migrations: str | None = None  # package holding NNN_*.sql files
    subscriptions: list[Subscription] = field(default_factory=list)
    resources: list[CleanupCtx] = field(default_factory=list)  # run after db/broker, before consuming
    on_ready: list[Callable[[web.Application], Awaitable[None]]] = field(default_factory=list)


@web.middleware
async def observe_middleware(request: web.Request, handler):
    """Metrics by route template, and the request's span: a child of the caller's W3C
    ``traceparent`` when it sent one, so its logs, calls and events share the caller's trace."""
    service = request.app[SERVICE]
    route, method = metrics.route_of(request), metrics.method_of(request)
    started = time.perf_counter()
    status = 500
    with tracing.span(service, f"{method} {route}", kind=tracing.SpanKind.SERVER,
                      parent=tracing.extract(request.headers),
                      attributes={"http.request.method": method, "http.route": route}) as span:
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away before the answer (nginx's code): not a server error
            raise
        finally:
            span.set_attribute("http.response.status_code", status)
            metrics.HTTP_REQUESTS.labels(service, route, method, str(status)).inc()
            metrics.HTTP_DURATION.labels(service, route, method).observe(time.perf_counter() - started)


@web.middleware
async def request_id_middleware(request: web.Request, handler):
    incoming = request.headers.get("X-Request-ID", "")
    rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    token = request_id_var.set(rid)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-ID"] = rid
        return response
    except web.HTTPException as exc:  # a raised redirect is logged as the redirect it is
        status = exc.status
        exc.headers["X-Request-ID"] = rid
        raise
    finally:
        if request.path not in ("/healthz", "/readyz", "/metrics"):
            log.info("request", extra=log_fields(method=request.method, path=request.rel_url.path,
                                                 status=status, ms=round((time.perf_counter() - started) * 1000, 1)))
        request_id_var.reset(token)


_HTTP_DETAILS = {404: "Deze pagina of dit gegeven bestaat niet.",
                 405: "Deze actie kan niet met deze methode.",
                 413: "Het verzoek is te groot."}


@web.middleware
async def problem_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except Problem as problem:
        return problem.response(instance=request.rel_url.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        detail = _HTTP_DETAILS.get(exc.status, exc.reason)
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return Problem(exc.status, detail, headers=headers).response(instance=request.rel_url.path)
    except asyncio.CancelledError:
        raise
    except db.UNREACHABLE as exc:  # the database away (a restart, a failover): say so, briefly
        log.warning("dependency unavailable", extra=log_fields(error=type(exc).__name__))
        return Problem(503, "Doorstroom is even niet bereikbaar. Probeer het over een minuut opnieuw.",
                       headers={"Retry-After": "30"}).response(instance=request.rel_url.path)
    except Exception as exc:
        # the log says where and which constraint, never the row's values (shared.logs)
        fields = {"error": type(exc).__name__}
        if isinstance(exc, asyncpg.PostgresError):
            fields.update(sqlstate=exc.sqlstate, constraint=exc.constraint_name, table=exc.table_name)
        log.exception("unhandled error", extra=log_fields(**fields))
        return Problem(500, "Er ging iets mis aan onze kant. Probeer het later opnieuw.").response(
            instance=request.rel_url.path)


def create_app(spec: ServiceSpec, settings: ServiceSettings) -> web.Application:
    app = web.Application(middlewares=[observe_middleware, request_id_middleware, problem_middleware],
                          client_max_size=settings.max_body_bytes)
    app[SERVICE] = spec.name
    app[SAMPLER] = metrics.Sampler(spec.name)
    app[SETTINGS] = settings
    app[API] = spec.api
    app[OUTBOX] = Outbox(spec.name)
    app[VERIFIER] = TokenVerifier(settings.auth_jwks_url)  # identity replaces it with its own keys
    dsn = settings.effective_database_url()

    async def database(app: web.Application) -> AsyncIterator[None]:
        async def connect() -> asyncpg.Pool:
            await db.ensure_database(dsn)
            return await db.create_pool(dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max)

        # waited out: the server not up yet, starting, failing over; anything else (a wrong
        # password, a missing role) ends the start at once
        pool = await keep_trying("PostgreSQL", connect, timeout=settings.startup_timeout_seconds,
                                 retry_on=db.UNREACHABLE)
        packages = [("shared", "shared.migrations")]
        if spec.migrations:
            packages.append((spec.name, spec.migrations))
        await db.migrate(pool, packages)
        app[DB] = pool
        yield
        await pool.close()

    async def broker(app: web.Application) -> AsyncIterator[None]:
        archive = Archive(settings.event_exchange, settings.event_archive_max_age,
                          settings.event_archive_max_bytes) if settings.event_archive else None
        b = Broker(settings.amqp_url, settings.event_exchange, spec.name, archive=archive)

        async def connect() -> None:
            if b.connection is not None:  # a half-made connection of a failed try
                with contextlib.suppress(Exception):
                    await b.close()
            await b.connect()

        await keep_trying("RabbitMQ", connect, timeout=settings.startup_timeout_seconds)
        app[BROKER] = b
        yield
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await b.close()

    async def relay(app: web.Application) -> AsyncIterator[None]:
        r = OutboxRelay(app[DB], app[BROKER], dsn, poll_seconds=settings.outbox_poll_seconds,
                        max_attempts=settings.outbox_max_attempts)
        app[RELAY] = r
        task = asyncio.create_task(r.run(), name=r.name)
        yield
        r.stop()
        await stop_task(task, grace=5)
        with contextlib.suppress(Exception):  # last chance to publish what is committed
            async with asyncio.timeout(3):
                await r.drain()
        await r.close()

    async def consumer(app: web.Application) -> AsyncIterator[None]:
        if not spec.subscriptions:
            yield
            return
        c = Consumer(spec.name, app[BROKER], app[DB], spec.subscriptions,
                     retry_delays_ms=settings.retry_delays_ms, prefetch=settings.consumer_prefetch,
                     queue_type=settings.queue_type)
        await c.start()
        app[CONSUMER] = c
        yield
        await c.stop()  # cleanup runs in reverse: consuming stops before the pool closes

    async def sampler(app: web.Application) -> AsyncIterator[None]:
        s = app[SAMPLER]
        s.pool, s.broker = app[DB], app[BROKER]
        if spec.subscriptions:
            queue = f"{settings.event_exchange}.{spec.name}"  # QueueTopology.queue and .parked
            s.queues = [queue, f"{queue}.parked"]
        task = asyncio.create_task(s.run(), name=f"{spec.name}-metrics")
        yield
        await stop_task(task, grace=0)
        tracing.flush(spec.name)

    app.cleanup_ctx.extend([database, broker, sampler, relay, *spec.resources, consumer])

    async def ready_hooks(app: web.Application) -> None:
        for hook in spec.on_ready:
            await hook(app)
    app.on_startup.append(ready_hooks)

    async def healthz(request: web.Request) -> web.Response:
        return json_response({"status": "ok", "service": spec.name})

    async def readyz(request: web.Request) -> web.Response:
        checks = {"database": False, "broker": request.app[BROKER].is_connected}
        with contextlib.suppress(Exception):
            async with request.app[DB].acquire(timeout=2) as conn:
                checks["database"] = await conn.fetchval("SELECT true", timeout=2)
        if not all(checks.values()):
            raise Problem(503, "Nog niet klaar: " + ", ".join(k for k, v in checks.items() if not v)
                          + " niet bereikbaar.", checks=checks)
        return json_response({"status": "ready", "checks": checks})

    async def metrics_endpoint(request: web.Request) -> web.Response:
        if SAMPLER in request.app:
            with contextlib.suppress(Exception):
                await request.app[SAMPLER].refresh()
        body = await asyncio.to_thread(metrics.exposition, spec.name) if metrics.multiprocess() \
            else metrics.exposition(spec.name)
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})

    async def openapi(request: web.Request) -> web.Response:
        return json_response(request.app[API].document(request.app[SETTINGS]))

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_routes(spec.api.routes)
    return app
