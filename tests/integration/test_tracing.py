"""One user action followed across the services by its W3C trace context (issue 13): a
``traceparent`` sent to the portal reaches identity (HTTP header), the event identity publishes
(the CloudEvents ``traceparent`` attribute), the notification consumer's logs, its delivery and
the log of the mail sent; with OTEL_EXPORTER_OTLP_ENDPOINT set, the spans are exported."""
from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from contextlib import AsyncExitStack, contextmanager
from typing import Iterator

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from services.identity.app import make_app as make_identity
from services.identity.settings import IdentitySettings
from services.notification.app import make_app as make_notification
from services.notification.settings import NotificationSettings
from services.portal.app import make_app as make_portal
from services.portal.settings import PortalSettings
from shared.app import DB
from shared.devtools.smtp_sink import SmtpSink
from shared.logs import JsonFormatter
from tests.integration.identity.conftest import FAST_ARGON2
from tests.integration.portal.support import serve_portal
from tests.support import env
from tests.support.apps import serve, settings
from tests.support.events import Probe, broker

TRACE_ID = uuid.uuid4().hex
TRACEPARENT = f"00-{TRACE_ID}-{uuid.uuid4().hex[:16]}-01"


class Lines(logging.Handler):
    """The JSON log lines the services write (shared.logs), kept for the test."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@contextmanager
def captured_logs(*names: str) -> Iterator[Lines]:
    handler = Lines()
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        for lg, level in zip(loggers, levels):
            lg.removeHandler(handler)
            lg.setLevel(level)


async def until(check, timeout: float = 20):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := await check()) and loop.time() < deadline:
        await asyncio.sleep(0.1)
    return result


async def test_a_traceparent_sent_to_the_portal_is_followed_into_the_event_the_consumer_and_the_mail():
    tag = uuid.uuid4().hex[:8]
    exchange = env.run_exchange(f"trace_{tag}")
    async with AsyncExitStack() as stack:
        sink = await stack.enter_async_context(SmtpSink())
        b = await stack.enter_async_context(broker(exchange))
        probe = await Probe.bind(b, "identity.#")
        common = dict(event_exchange=exchange)
        notification_app = make_notification(settings(NotificationSettings, f"tno_{tag}", smtp_port=sink.port,
                                                      delivery_poll_seconds=0.2, **common))
        await stack.enter_async_context(serve(notification_app))
        seen_headers: list[str] = []

        @web.middleware
        async def remember(request, handler):  # what reached identity
            seen_headers.append(request.headers.get("traceparent", ""))
            return await handler(request)

        identity_app = make_identity(settings(IdentitySettings, f"tid_{tag}", environment="test",
                                              mail_repeat_seconds=0, **FAST_ARGON2, **common))
        identity_app.middlewares.insert(0, remember)
        identity = await stack.enter_async_context(serve(identity_app))
        portal = await stack.enter_async_context(serve_portal(make_portal(settings(
            PortalSettings, f"tpo_{tag}", identity_url=str(identity.make_url("")).rstrip("/"),
            dossier_url="http://127.0.0.1:9", document_url="http://127.0.0.1:9", **common))))
        email = f"spoor.{tag}@example.nl"

        with captured_logs("shared.consumer", "services.notification.deliveries", "shared.app") as logs:
            page = await (await portal.get("/account/maken")).text()
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            async with portal.post("/account/maken", data={"bsn": "111222333", "email": email, "csrf_token": csrf},
                                   headers={"traceparent": TRACEPARENT}) as r:
                assert r.status == 200, await r.text()
            [mail] = await sink.wait_for(1, timeout=20)
            assert mail.envelope_to == [email]

            async def sent_logged():
                return [x for x in logs.lines if x["message"] == "delivery sent"]
            assert await until(sent_logged)

        # identity got the trace (a child span of the portal's: same trace id, another span)
        traced = [h for h in seen_headers if h]
        assert traced and all(h.split("-")[1] == TRACE_ID for h in traced) and TRACEPARENT not in traced
        # the event carries it in its envelope (CloudEvents distributed tracing extension)
        [event] = [e for e in probe.received if e["type"] == "identity.verification_requested"]
        assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]", event["traceparent"])
        assert event["traceparent"].split("-")[1] == TRACE_ID
        # the consumer's log of its handling, the delivery, and the log of the mail sent: same trace
        handled = [x for x in logs.lines if x["message"] == "event handled"
                   and x.get("type") == "identity.verification_requested"]
        assert handled and all(x["trace_id"] == TRACE_ID for x in handled)
        sent = [x for x in logs.lines if x["message"] == "delivery sent"]
        assert sent and all(x["trace_id"] == TRACE_ID for x in sent)
        async with notification_app[DB].acquire() as conn:
            row = await conn.fetchval("SELECT traceparent FROM deliveries WHERE recipient = $1", email)
        assert row.split("-")[1] == TRACE_ID
        # the request log lines of both services too
        requests = [x for x in logs.lines if x["message"] == "request" and x.get("method") == "POST"]
        assert len(requests) >= 2 and all(x["trace_id"] == TRACE_ID for x in requests)  # the portal's, identity's


async def test_spans_are_exported_only_when_an_otlp_endpoint_is_set(monkeypatch):
    received: list[ExportTraceServiceRequest] = []

    async def traces(request: web.Request) -> web.Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        received.append(message)
        return web.Response(status=200, content_type="application/x-protobuf", body=b"")

    collector = web.Application()
    collector.router.add_post("/v1/traces", traces)
    tag = uuid.uuid4().hex[:8]
    async with AsyncExitStack() as stack:
        receiver = await stack.enter_async_context(serve(collector))
        app_settings = settings(IdentitySettings, f"tex_{tag}", environment="test", **FAST_ARGON2,
                                event_exchange=env.run_exchange(f"texp_{tag}"))
        # without an endpoint: nothing goes out
        quiet = await stack.enter_async_context(serve(make_identity(app_settings)))
        quiet_trace = uuid.uuid4().hex
        assert (await quiet.get("/healthz", headers={"traceparent": f"00-{quiet_trace}-{'1' * 16}-01"})).status == 200
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", str(receiver.make_url("")).rstrip("/"))
        exported = await stack.enter_async_context(serve(make_identity(app_settings)))
        assert (await exported.get("/healthz", headers={"traceparent": TRACEPARENT})).status == 200
        from shared import tracing
        await asyncio.to_thread(tracing.flush, "identity")

        async def arrived():
            return [s for m in received for rs in m.resource_spans for ss in rs.scope_spans for s in ss.spans]
        spans = await until(arrived)
        assert spans, "no span reached the collector"
        traces_ = {s.trace_id.hex() for s in spans}
        assert TRACE_ID in traces_ and quiet_trace not in traces_, "only what was done with the endpoint set"
        assert any(s.name == "GET /healthz" and s.trace_id.hex() == TRACE_ID for s in spans)
        names = {a.value.string_value for m in received for rs in m.resource_spans
                 for a in rs.resource.attributes if a.key == "service.name"}
        assert names == {"doorstroom-identity"}
