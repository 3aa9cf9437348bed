"""GET /metrics of every service (issue 13): the counters move as a journey implies, no label
carries personal data or an id, and with WORKERS=2 the processes' counters are summed."""
from __future__ import annotations

import asyncio
import re
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from services.document.app import make_app as make_document
from services.document.settings import DocumentSettings
from services.dossier.app import make_app as make_dossier
from services.dossier.settings import DossierSettings
from services.identity.app import make_app as make_identity
from services.identity.settings import IdentitySettings
from services.notification.app import make_app as make_notification
from services.notification.settings import NotificationSettings
from services.portal.app import make_app as make_portal
from services.portal.settings import PortalSettings
from shared.api import Api
from shared.devtools.smtp_sink import SmtpSink
from tests.integration.dossier.world import World
from tests.integration.identity.conftest import FAST_ARGON2
from tests.integration.portal.support import serve_portal
from tests.support import env
from tests.support.apps import ServiceProcess, serve, settings
from tests.support.auth import token_issuer
from tests.support.events import Probe, broker

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
BSN = "111222333"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition as {(name, sorted labels): value}."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 when none)."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


async def scrape(client) -> tuple[str, Samples]:
    r = await client.get("/metrics")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = await r.text()
    return text, parse(text)


async def eventually(check, timeout: float = 20):
    """Wait until ``check()`` (async) returns something truthy; a deadline, never a timing assertion."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result or loop.time() > deadline:
            return result
        await asyncio.sleep(0.1)


async def open_all(stack: AsyncExitStack) -> tuple[World, dict]:
    """The dossier world (dossier, notification, an SMTP sink, a token issuer) with identity,
    document and the portal beside it, all on one exchange of their own."""
    tag = uuid.uuid4().hex[:8]
    exchange = env.run_exchange(f"metrics_{tag}")
    sink = await stack.enter_async_context(SmtpSink())
    issuer = await stack.enter_async_context(token_issuer())
    b = await stack.enter_async_context(broker(exchange))
    common = dict(event_exchange=exchange)
    notification_app = make_notification(settings(NotificationSettings, f"mno_{tag}", smtp_port=sink.port,
                                                  delivery_poll_seconds=0.2, **common))
    notification = await stack.enter_async_context(serve(notification_app))
    dossier = await stack.enter_async_context(serve(make_dossier(settings(
        DossierSettings, f"mdo_{tag}", auth_jwks_url=issuer.jwks_url, reminder_auto=False,
        public_base_url="https://portal.example.nl", **common))))
    world = World(dossier, notification_app, sink, issuer, exchange, b)
    world.events = await Probe.bind(b, "#")  # every event is routable (the archive is off in the tests)
    identity = await stack.enter_async_context(serve(make_identity(settings(
        IdentitySettings, f"mid_{tag}", environment="test", mail_repeat_seconds=0, **FAST_ARGON2, **common))))
    dossier_url = str(dossier.make_url("")).rstrip("/")
    document = await stack.enter_async_context(serve(make_document(settings(
        DocumentSettings, f"mdoc_{tag}", render_processes=1, auth_jwks_url=issuer.jwks_url,
        dossier_url=dossier_url, **common))))
    portal = await stack.enter_async_context(serve_portal(make_portal(settings(
        PortalSettings, f"mpo_{tag}", identity_url=str(identity.make_url("")).rstrip("/"),
        dossier_url=dossier_url, document_url=str(document.make_url("")).rstrip("/"), **common))))
    return world, {"identity": identity, "dossier": dossier, "document": document, "portal": portal,
                   "notification": notification}


async def test_a_journey_moves_the_counters_of_every_service_and_no_label_names_anyone():
    async with AsyncExitStack() as stack:
        world, clients = await open_all(stack)
        portal = clients["portal"]
        school = await world.school()
        mbo = await world.mbo()
        student = await world.student(school, roepnaam="Quirijntje", achternaam="Zwanenbloem")
        d = await world.fill_part_a(student, await world.create(student, mbo), mbo)
        mentor = student.klass.mentors[0]

        before = {name: (await scrape(c))[1] for name, c in clients.items()}

        # the student submits part A (the dossier API); a person registers (portal -> identity)
        d = await world.act(d["id"], "submit", world.as_student(student), json={"mentor_id": str(mentor.staff_id)})
        assert d["state"] == "part_b"
        await world.mails_to(mentor.email)
        email = f"metriek.{uuid.uuid4().hex[:8]}@example.nl"
        page = await (await portal.get("/account/maken")).text()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        async with portal.post("/account/maken", data={"bsn": BSN, "email": email, "csrf_token": csrf}) as r:
            assert r.status == 200, await r.text()
        await world.mails_to(email)

        async def moved():
            after_ = {name: (await scrape(c)) for name, c in clients.items()}
            n = after_["notification"][1]
            done = (value(n, "doorstroom_consumer_messages_total", event_type="identity.verification_requested",
                          outcome="handled") > value(before["notification"], "doorstroom_consumer_messages_total",
                                                      event_type="identity.verification_requested", outcome="handled")
                    and value(after_["dossier"][1], "doorstroom_outbox_pending_rows") == 0
                    and value(n, "doorstroom_deliveries", state="sending") == 0  # gauges: sampled at most once a second
                    and value(n, "doorstroom_delivery_attempts_total", outcome="sent")
                    >= value(before["notification"], "doorstroom_delivery_attempts_total", outcome="sent") + 2)
            return after_ if done else None

        after = await eventually(moved)
        assert after, "the counters did not move"
        samples = {name: s for name, (_, s) in after.items()}

        def delta(of: str, name: str, **labels: str) -> float:
            return value(samples[of], name, **labels) - value(before[of], name, **labels)

        # notification handled one more dossier.part_a_submitted, and sent the two mails
        assert delta("notification", "doorstroom_consumer_messages_total", event_type="dossier.part_a_submitted",
                     outcome="handled") == 1
        assert delta("notification", "doorstroom_consumer_messages_total", event_type="identity.verification_requested",
                     outcome="handled") == 1
        assert delta("notification", "doorstroom_consumer_handling_duration_seconds_count",
                     event_type="dossier.part_a_submitted") == 1
        assert delta("notification", "doorstroom_delivery_attempts_total", outcome="sent") == 2
        assert delta("notification", "doorstroom_smtp_send_duration_seconds_count") == 2
        for state in ("pending", "sending", "failed"):  # nothing waits, nothing failed ("sent": every 30 s)
            assert value(samples["notification"], "doorstroom_deliveries", state=state) == 0, state
        assert ("doorstroom_deliveries", (("state", "sent"),)) in samples["notification"]
        # the outboxes published what the journey wrote, and nothing waits
        assert delta("dossier", "doorstroom_outbox_published_total", service="dossier") >= 1
        assert delta("identity", "doorstroom_outbox_published_total", service="identity") >= 1
        for service in ("dossier", "identity"):
            assert value(samples[service], "doorstroom_outbox_pending_rows", service=service) == 0
            assert value(samples[service], "doorstroom_outbox_oldest_pending_age_seconds", service=service) == 0
        # HTTP by route template and status class, never by path
        assert delta("dossier", "doorstroom_http_requests_total", service="dossier",
                     route="/v1/dossiers/{dossier_id}/submit", method="POST", status="200") == 1
        assert delta("dossier", "doorstroom_http_request_duration_seconds_count", service="dossier",
                     route="/v1/dossiers/{dossier_id}/submit", method="POST") == 1
        assert delta("identity", "doorstroom_http_requests_total", service="identity", route="/v1/registrations",
                     method="POST", status="202") == 1
        assert delta("portal", "doorstroom_http_requests_total", service="portal", route="/account/maken",
                     method="POST", status="200") == 1
        # the resources: ready, broker up, the pool seen
        for service, s in samples.items():
            assert value(s, "doorstroom_ready", service=service) == 1, service
            assert value(s, "doorstroom_broker_connected", service=service) == 1, service
            assert ("doorstroom_db_pool_connections", (("service", service), ("state", "idle"))) in s, service
            assert ("doorstroom_db_pool_waiting", (("service", service),)) in s, service
            # each service shows its own series only
            assert {dict(ls).get("service", service) for (_, ls) in s} == {service}, service
        assert ("doorstroom_queue_messages_ready", (("queue", f"{world.exchange}.notification"),
                                                    ("service", "notification"))) in samples["notification"]
        assert value(samples["notification"], "doorstroom_parked_messages", service="notification") == 0
        assert not any(n.startswith("doorstroom_deliveries") for (n, _) in samples["dossier"])

        # no personal data and no id in any label, in the whole exposition text
        personal = [BSN, email, student.email, mentor.email, mentor.name, "Quirijntje", "Zwanenbloem",
                    str(student.student_id), d["id"]]
        for service, (text, s) in after.items():
            for secret in personal:
                assert secret.lower() not in text.lower(), (service, secret)
            for (name, labels) in s:
                for label, label_value in labels:
                    # queue names are the services' own (from settings); in tests they hold random hex
                    # tags that may be digits only by chance (the registry is per process, so other
                    # tests' queues show too): only a queue is spared the long-number check
                    if label == "queue":
                        assert "@" not in label_value and not UUID_RE.search(label_value), label_value
                        continue
                    assert not UUID_RE.search(label_value), (service, name, label, label_value)
                    assert "@" not in label_value and not re.search(r"\d{8,}", label_value), (service, label_value)


def test_metrics_is_documented_like_healthz():
    from shared.app import API, ServiceSpec, create_app
    from shared.settings import ServiceSettings

    app = create_app(ServiceSpec(name="probe", api=Api(title="probe")), ServiceSettings(service_name="probe"))
    doc = app[API].document()
    op = doc["paths"]["/metrics"]["get"]
    assert op["tags"] == doc["paths"]["/healthz"]["get"]["tags"] == ["beheer"]
    assert "text/plain" in op["responses"]["200"]["content"] and "security" not in op


async def test_with_two_workers_the_counters_of_both_processes_are_summed(unique, tmp_path: Path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left over from an earlier run")  # emptied at the start
    service = await ServiceProcess("notification", db=f"mp_{unique}", workers=2, event_exchange=f"ex.{unique}",
                                   prometheus_multiproc_dir=str(folder)).start()
    try:
        assert not (folder / "counter_999999.db").exists()
        requests = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        # a connection each: the kernel spreads them over the processes listening; until both
        # answered some (each then has its own file of values)
        while requests < 24 or len(list(folder.glob("counter_*.db"))) < 2:
            async with aiohttp.ClientSession() as http:
                async with http.get(service.url + "/healthz") as r:
                    assert r.status == 200
            requests += 1
            assert loop.time() < deadline, "the second process never answered"
        assert len(list(folder.glob("counter_*.db"))) == 2, "one file per process"
        for _ in range(6):  # whichever process answers, it tells the sum of both
            async with aiohttp.ClientSession() as http:
                async with http.get(service.url + "/metrics") as r:
                    assert r.status == 200
                    samples = parse(await r.text())
            assert value(samples, "doorstroom_http_requests_total", service="notification", route="/healthz",
                         method="GET", status="200") == requests
            assert value(samples, "doorstroom_http_request_duration_seconds_count", service="notification",
                         route="/healthz") == requests
            assert value(samples, "doorstroom_broker_connected", service="notification") == 1
    finally:
        assert await service.stop() == 0


async def test_the_pool_gauges_count_connections_in_use_and_tasks_waiting(unique):
    """asyncpg has no public count of connections in use or of waiting tasks: ``pool_stats`` reads
    its internals, and this test says when a new asyncpg changes them."""
    import asyncpg

    from shared import db, metrics

    dsn = env.database_url(f"pool_{unique}")
    await db.ensure_database(dsn)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        assert metrics.pool_stats(pool) == (0, 1, 0)
        async with pool.acquire():
            assert metrics.pool_stats(pool) == (1, 0, 0)
            waiter = asyncio.create_task(pool.acquire().__aenter__())

            async def waiting():
                return metrics.pool_stats(pool)[2] == 1
            assert await eventually(waiting, timeout=5)
            assert metrics.pool_stats(pool) == (1, 0, 1)
        conn = await waiter
        assert metrics.pool_stats(pool) == (1, 0, 0)
        await pool.release(conn)
        assert metrics.pool_stats(pool) == (0, 1, 0)
    finally:
        await pool.close()


async def test_the_consumer_counts_duplicates_retries_and_parking_and_the_parked_gauge_sees_them(unique):
    from prometheus_client import REGISTRY

    from shared import metrics
    from shared.consumer import Consumer, Subscription
    from shared.events.envelope import Envelope
    from tests.support.events import database, sample_event

    event = "identity.verification_requested"
    name = f"m{unique}"  # the consumer's name is its service label here

    def count(outcome: str) -> float:
        return REGISTRY.get_sample_value("doorstroom_consumer_messages_total",
                                         {"service": name, "event_type": event, "outcome": outcome}) or 0

    async with database(f"consumer_metrics_{unique}") as (pool, _dsn), broker(f"ex.{unique}") as b:
        async def handler(conn, envelope, data):
            if str(data.email).startswith("kapot"):
                raise RuntimeError("kapot")

        consumer = Consumer(name, b, pool, [Subscription(event, handler)], retry_delays_ms=(100,), queue_type="classic")
        await consumer.start()
        sampler = metrics.Sampler(name)
        sampler.pool, sampler.broker = pool, b
        sampler.queues = [consumer.topology.queue, consumer.topology.parked]
        try:
            good = Envelope(source="/test", type=event, data=sample_event().model_dump(mode="json"))
            bad = Envelope(source="/test", type=event,
                           data=sample_event().model_copy(update={"email": "kapot@example.nl"}).model_dump(mode="json"))
            for env_ in (good, good, bad):  # the good one twice: once handled, once a duplicate
                await b.publish(event, env_.model_dump_json().encode(), message_id=str(env_.id))

            async def settled():
                return count("parked") == 1 and count("handled") + count("duplicate") == 2
            assert await eventually(settled)
            assert (count("handled"), count("duplicate"), count("retried"), count("parked")) == (1, 1, 1, 1)

            async def parked_seen():
                await sampler.refresh(min_age=0)
                return REGISTRY.get_sample_value("doorstroom_parked_messages", {"service": name}) == 1
            assert await eventually(parked_seen)
            assert REGISTRY.get_sample_value("doorstroom_queue_messages_ready",
                                             {"service": name, "queue": consumer.topology.parked}) == 1
            assert REGISTRY.get_sample_value("doorstroom_ready", {"service": name}) == 1
            assert REGISTRY.get_sample_value("doorstroom_outbox_pending_rows", {"service": name}) == 0
        finally:
            await consumer.stop()
