"""The season bench's count at the end: mails at the sink against what the season should have sent,
events published (outbox rows of every service) against consumed (inbox rows of every consumer, per
event type it takes) and the archive stream, parked messages, outbox and deliveries left pending.
"Nothing lost" is computed from these and printed with the numbers."""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from bench.season_mail import Mailbox
from shared.archive import read_archive
from tests.support import env


def queue_depths(prefix: str) -> dict[str, int]:
    """Messages per queue of this run (``rabbitmqctl list_queues``; ready + unacknowledged)."""
    return {row[0]: int(row[1]) for row in env.rabbitmq_list("queues", "name", "messages")
            if len(row) == 2 and row[0].startswith(prefix) and row[1].isdigit()}


@dataclass
class Ledger:
    expected_mails: Counter
    mails: Counter = field(default_factory=Counter)
    sink_total: int = 0
    duplicates: int = 0
    published: Counter = field(default_factory=Counter)  # event type -> rows published (all services)
    outbox_pending: int = 0
    outbox_parked: int = 0
    consumed: dict[str, Counter] = field(default_factory=dict)  # consumer -> event type -> inbox rows
    deliveries: Counter = field(default_factory=Counter)  # status -> rows
    queues: dict[str, int] = field(default_factory=dict)
    archive: int | None = None  # messages in the archive stream (None: no archive)
    archive_missing: int = 0  # published events not in the archive
    archive_unknown: int = 0  # events in the archive that no outbox published
    archive_twice: int = 0  # messages beyond one per event: published again (at least once; consumers skip them)

    def checks(self) -> list[tuple[str, bool, str]]:
        out = []
        exp, got = sum(self.expected_mails.values()), sum(self.mails.values())
        per_kind = ", ".join(f"{k} {self.mails[k]:,}/{self.expected_mails[k]:,}" for k in self.expected_mails)
        out.append(("mails at the sink = expected, none twice", got == exp == self.sink_total and not self.duplicates
                    and all(self.mails[k] == v for k, v in self.expected_mails.items()),
                    f"{self.sink_total:,} at the sink, {exp:,} expected ({per_kind}); {self.duplicates} twice"))
        published = sum(self.published.values())
        out.append(("outbox: all published, none pending or parked", not self.outbox_pending and not self.outbox_parked,
                    f"{published:,} published, {self.outbox_pending} pending, {self.outbox_parked} parked"))
        for consumer, counts in sorted(self.consumed.items()):
            short = {t: (n, self.published[t]) for t, n in counts.items() if n != self.published[t]}
            out.append((f"{consumer}: consumed = published, per event type it takes", not short,
                        f"{sum(counts.values()):,} consumed over {len(counts)} types"
                        + (f"; differ: {short}" if short else "")))
        sent = self.deliveries.get("sent", 0)
        left = {k: v for k, v in self.deliveries.items() if k != "sent"}
        out.append(("deliveries: all sent, none pending or failed", not left and sent == self.sink_total,
                    f"{sent:,} sent, {left or 'nothing else'}"))
        parked = {q: n for q, n in self.queues.items() if q.endswith(".parked")}
        out.append(("parked messages (queues *.parked) = 0", not any(parked.values()),
                    f"{sum(parked.values())} in {len(parked)} parked queues"))
        busy = {q: n for q, n in self.queues.items() if n and not q.endswith((".parked", ".archive"))}
        out.append(("every queue empty", not busy, f"{len(self.queues)} queues" + (f"; not empty: {busy}" if busy else "")))
        if self.archive is not None:
            out.append(("archive stream holds every published event", not self.archive_missing
                        and not self.archive_unknown,
                        f"{self.archive:,} in the archive, {published:,} published: {self.archive_missing} missing, "
                        f"{self.archive_unknown} unknown, {self.archive_twice} published twice (at least once: "
                        "every consumer took them once, counted above)"))
        return out

    def report(self) -> tuple[bool, list[str]]:
        checks = self.checks()
        lines = [f"  {'PASS' if ok else 'FAIL'}  {what}: {numbers}" for what, ok, numbers in checks]
        return all(ok for _, ok, _ in checks), lines


async def _fetch(dsn: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def settle(dsns: dict[str, str], notification_dsn: str, prefix: str, timeout: float = 180) -> float:
    """Wait until no outbox row is pending, no delivery is pending and every queue is empty (or
    ``timeout``); answers the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        pending = 0
        for dsn in dsns.values():
            pending += (await _fetch(dsn, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL "
                                          "AND parked_at IS NULL"))[0]["n"]
        pending += (await _fetch(notification_dsn, "SELECT count(*) AS n FROM deliveries "
                                                   "WHERE status IN ('pending', 'sending')"))[0]["n"]
        if not pending and not any(n for q, n in queue_depths(prefix).items()
                                   if not q.endswith((".parked", ".archive"))):
            break
        await asyncio.sleep(1)
    return time.monotonic() - started


async def count(dsns: dict[str, str], notification_dsn: str, prefix: str, box: Mailbox, expected: Counter,
                archive: bool) -> Ledger:
    box._take()
    ledger = Ledger(expected_mails=expected, mails=Counter({k: box.counts[k] for k in expected} | {
        k: n for k, n in box.counts.items() if k not in expected}), sink_total=len(box.sink.messages),
        duplicates=box.duplicates)
    for dsn in dsns.values():
        for r in await _fetch(dsn, "SELECT event_type, count(*) FILTER (WHERE published_at IS NOT NULL) AS published, "
                                   "count(*) FILTER (WHERE published_at IS NULL AND parked_at IS NULL) AS pending, "
                                   "count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked "
                                   "FROM outbox GROUP BY event_type"):
            ledger.published[r["event_type"]] += r["published"]
            ledger.outbox_pending += r["pending"]
            ledger.outbox_parked += r["parked"]
        for r in await _fetch(dsn, "SELECT consumer, event_type, count(*) AS n FROM inbox GROUP BY 1, 2"):
            ledger.consumed.setdefault(r["consumer"], Counter())[r["event_type"]] += r["n"]
    for r in await _fetch(notification_dsn, "SELECT status, count(*) AS n FROM deliveries GROUP BY status"):
        ledger.deliveries[r["status"]] = r["n"]
    ledger.queues = queue_depths(prefix)
    if archive:  # every event by its id: the stream read from its start to its end
        ids = set()
        for dsn in dsns.values():
            ids.update(r["event_id"] for r in await _fetch(dsn, "SELECT event_id::text FROM outbox "
                                                                "WHERE published_at IS NOT NULL"))
        kept = Counter(a.message_id for a in await read_archive(env.AMQP_URL, prefix, since=datetime(2000, 1, 1,
                                                                                                    tzinfo=UTC)))
        ledger.archive = sum(kept.values())
        ledger.archive_missing = len(ids - kept.keys())
        ledger.archive_unknown = len(kept.keys() - ids)
        ledger.archive_twice = ledger.archive - len(kept)
    return ledger
