"""The event pipeline under test, made of the real parts: a producer (a database with the outbox and
its relay, as in every service) -> RabbitMQ -> notification (its consumer, database and delivery
worker) -> an SMTP sink; with a TCP proxy in front of the broker or the database where a test
needs to cut it. Faults are made with the proxies (or by killing a process), never by stopping the
machine's shared PostgreSQL or RabbitMQ.

At the end every test compares the counts: events written (outbox rows), events consumed
(notification's inbox rows), deliveries, and mails at the sink (total and distinct Message-IDs).
The figures go to ``test-artifacts/fault-figures.jsonl`` (and the terminal with ``-s``)."""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from services.notification.app import make_app as make_notification
from services.notification.settings import NotificationSettings
from shared import db
from shared.bus import Broker
from shared.devtools.smtp_sink import SmtpSink
from shared.events.identity_events import VerificationRequested
from shared.outbox import Outbox, OutboxRelay
from tests.support import env
from tests.support.apps import ROOT, ServiceProcess, serve, settings
from tests.support.auth import token_issuer
from tests.support.tcp_proxy import TcpProxy
from tests.support.wait import eventually

FIGURES = ROOT / "test-artifacts" / "fault-figures.jsonl"
PG_PORT, AMQP_PORT = 5432, 5672


@dataclass
class Figures:
    fault: str
    written: int
    consumed: int
    deliveries: int
    sent: int
    failed: int
    mails: int
    distinct_mails: int
    resent: int = 0  # the same Message-ID more than once: a crash between acceptance and record
    seconds: float = 0.0
    notes: dict = field(default_factory=dict)

    def report(self) -> "Figures":
        FIGURES.parent.mkdir(exist_ok=True)
        line = json.dumps(asdict(self), ensure_ascii=False)
        with FIGURES.open("a") as f:
            f.write(line + "\n")
        print("\nFAULT " + line)
        return self


class Pipeline:
    """``async with Pipeline(unique, ...) as p: await p.write(100); await p.settle(100)``."""

    def __init__(self, unique: str, *, broker_proxy: bool = False, db_proxy: bool = False,
                 notification_process: bool = False, notifications: int = 1, archive: bool = False,
                 **notification_settings) -> None:
        self.unique = unique
        self.exchange = env.run_exchange(f"f{unique}")
        self.use_broker_proxy, self.use_db_proxy = broker_proxy, db_proxy
        self.notification_process, self.notifications_wanted = notification_process, notifications
        self.archive = archive
        self.overrides = {"delivery_poll_seconds": 0.5, "delivery_retry_base_seconds": 0.2,
                          "delivery_lease_seconds": 3, **notification_settings}
        self.outbox = Outbox("identity")
        self.written: list[str] = []
        self.started = time.monotonic()
        self._stack = AsyncExitStack()
        self.notification_apps = []
        self.clients = []  # HTTP clients of the in-process notifications
        self.processes: list[ServiceProcess] = []

    # ------------------------------------------------------------------ set-up

    async def __aenter__(self) -> "Pipeline":
        s = self._stack
        self.broker_proxy = await TcpProxy("127.0.0.1", AMQP_PORT).start() if self.use_broker_proxy else None
        self.db_proxy = await TcpProxy("127.0.0.1", PG_PORT).start() if self.use_db_proxy else None
        s.push_async_callback(self._close_proxies)
        self.sink = await s.enter_async_context(SmtpSink())
        self.issuer = await s.enter_async_context(token_issuer())  # the operator's token for the stats
        # the producer: its own database with the outbox, its relay on its own broker connection
        self.producer_dsn = env.database_url(f"fp_{self.unique}")
        await db.ensure_database(self.producer_dsn)
        self.producer_pool = await db.create_pool(self.producer_dsn, min_size=1, max_size=10)
        s.push_async_callback(self.producer_pool.close)
        await db.migrate(self.producer_pool, [("shared", "shared.migrations")])
        # notification first: its queue is bound before anything is published
        self.notification_dsn = env.database_url(f"fn_{self.unique}")
        for _ in range(self.notifications_wanted):
            await self.start_notification()
        self.producer_broker = Broker(self.amqp_url(), self.exchange, "producer")
        await self.producer_broker.connect()
        s.push_async_callback(self.producer_broker.close)
        self.relay = OutboxRelay(self.producer_pool, self.producer_broker, self.producer_dsn, poll_seconds=0.2)
        self.relay_task = asyncio.create_task(self.relay.run(), name="producer-relay")
        s.push_async_callback(self._stop_relay)
        return self

    async def __aexit__(self, *exc) -> None:
        for proc in self.processes:
            if proc.proc is not None and proc.proc.poll() is None:
                await proc.stop()
        await self._stack.aclose()

    async def _close_proxies(self) -> None:
        for proxy in (self.broker_proxy, self.db_proxy):
            if proxy is not None:
                await proxy.close()

    async def _stop_relay(self) -> None:
        self.relay.stop()
        await asyncio.wait({self.relay_task}, timeout=5)
        await self.relay.close()

    def amqp_url(self) -> str:
        port = self.broker_proxy.port if self.broker_proxy else AMQP_PORT
        return f"amqp://guest:guest@127.0.0.1:{port}/"

    def notification_db_url(self) -> str:
        if self.db_proxy is None:
            return self.notification_dsn
        return self.notification_dsn.replace(f":{PG_PORT}/", f":{self.db_proxy.port}/")

    def notification_settings(self) -> dict:
        return dict(database_url=self.notification_db_url(), amqp_url=self.amqp_url(),
                    event_exchange=self.exchange, smtp_port=self.sink.port, event_archive=self.archive,
                    auth_jwks_url=self.issuer.jwks_url,
                    **self.overrides)

    async def start_notification(self):
        """One more notification (a process when the pipeline was made with one, else in-process)."""
        if self.notification_process:
            proc = ServiceProcess("notification", db=f"fn_{self.unique}", log_level="INFO",
                                  **{k: (json.dumps(v) if isinstance(v, (list, tuple)) else v)
                                     for k, v in self.notification_settings().items()})
            self.processes.append(await proc.start())
            return proc
        app = make_notification(settings(NotificationSettings, f"fn_{self.unique}", **self.notification_settings()))
        self.clients.append(await self._stack.enter_async_context(serve(app)))
        self.notification_apps.append(app)
        return app

    # ------------------------------------------------------------------ work

    async def write(self, n: int, *, prefix: str = "m", concurrency: int = 20,
                    pause: float = 0.0) -> list[str]:
        """Commit ``n`` events (one transaction each, like ``n`` requests), ``concurrency`` at once;
        returns their recipients."""
        emails = [f"{prefix}{len(self.written) + i}-{self.unique}@example.nl" for i in range(n)]
        self.written.extend(emails)
        queue = list(emails)

        async def writer() -> None:
            while queue:
                email = queue.pop()
                async with self.producer_pool.acquire() as conn, conn.transaction():
                    await self.outbox.add(conn, VerificationRequested(
                        verification_id=uuid.uuid4(), email=email, verify_url="http://localhost/v",
                        expires_at=datetime.now(UTC) + timedelta(days=1)))
                if pause:
                    await asyncio.sleep(pause)

        await asyncio.gather(*(writer() for _ in range(concurrency)))
        return emails

    def distinct(self) -> int:
        return len({m["Message-ID"] for m in self.sink.messages})

    async def settle(self, mails: int, timeout: float = 60) -> None:
        """Wait until ``mails`` distinct mails arrived and nothing more is on its way."""
        await eventually(lambda: self.distinct() >= mails, timeout,
                         f"{mails} distinct mails (have {self.distinct()})")
        await eventually(self._quiet, 30, "no deliveries pending")
        await asyncio.sleep(0.5)  # anything sent twice would arrive now

    async def _quiet(self) -> bool:
        conn = await asyncpg.connect(self.notification_dsn)
        try:
            return await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')") == 0
        finally:
            await conn.close()

    async def figures(self, fault: str, **notes) -> Figures:
        prod = await asyncpg.connect(self.producer_dsn)
        notif = await asyncpg.connect(self.notification_dsn)
        try:
            written = await prod.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'identity.verification_requested'")
            consumed = await notif.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'notification'")
            states = dict(await notif.fetch("SELECT status, count(*) FROM deliveries GROUP BY status"))
            deliveries = sum(states.values())
        finally:
            await prod.close()
            await notif.close()
        ids = Counter(m["Message-ID"] for m in self.sink.messages)
        return Figures(fault=fault, written=written, consumed=consumed, deliveries=deliveries,
                       sent=states.get("sent", 0), failed=states.get("failed", 0), mails=len(self.sink.messages),
                       distinct_mails=len(ids), resent=sum(n - 1 for n in ids.values()),
                       seconds=round(time.monotonic() - self.started, 1), notes=notes).report()

    def recipients_mailed(self) -> set[str]:
        return {a.lower() for m in self.sink.messages for a in m.envelope_to}


def assert_exact(f: Figures, *, failed: int = 0, resend_allowance: int = 0) -> None:
    """Events written = consumed = deliveries; every delivery sent or failed as expected; mails by
    Message-ID equal to the sent ones; a resend only within the allowance (and always counted)."""
    assert f.written == f.consumed == f.deliveries, f
    assert f.failed == failed, f
    assert f.sent == f.written - failed, f
    assert f.distinct_mails == f.sent, f
    assert f.resent <= resend_allowance, f
    assert f.mails == f.distinct_mails + f.resent, f


def project_root() -> Path:
    return ROOT
