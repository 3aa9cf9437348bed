"""Access that ended: identity publishes ``identity.access_ended`` (a logout, a password change, a
deactivated account, a session ended by its owner) or ``identity.client_revoked`` (a machine client
revoked: every token of it, as every session of an account) and every other service that accepts
tokens refuses the tokens it covers within moments, not when they expire.

Only one process of a service receives each event (the processes share one queue), yet every
process must know it. So the consumer's handler writes the event to ``access_revocations`` (shared
migration 003), whose insert trigger sends ``NOTIFY access_revocations`` with the row; every
process LISTENs (a ``shared.loops.NotifyWakeup`` connection of its own) and adds the row to its
in-memory :class:`Revocations`, which ``TokenVerifier`` asks on every request, a remembered
(already verified) token included. A process reads the whole table when it starts, after every
(re)connection of its listener, and every ``poll_seconds`` while the listener is away, so a
notification missed meanwhile is learned all the same.

What an event covers: with ``session_id`` one session, without it every session of the account;
in both cases the tokens issued at or before ``ended_at`` (a token issued later, after a new login,
works). A row is kept until no token it covers can still be valid: ``ended_at`` plus the longest
token lifetime (``ACCESS_TOKEN_TTL_SECONDS``, 900 s) plus a minute for clocks that differ; then it
is purged from memory and from the table.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web

from shared.app import DB, SETTINGS
from shared.auth import VERIFIER, Principal
from shared.consumer import Subscription
from shared.events.envelope import Envelope
from shared.events.identity_events import AccessEnded, ClientRevoked
from shared.logs import log_fields
from shared.loops import NotifyWakeup, Worker, run_worker

log = logging.getLogger(__name__)

CHANNEL = "access_revocations"
CLOCK_SKEW_SECONDS = 60.0


class Revocations:
    """The ends of access one process knows of: per account (every session) and per session, the
    latest ``ended_at`` (seconds since the epoch). Plain dictionaries: a check is two look-ups."""

    def __init__(self, keep_seconds: float) -> None:
        self.keep_seconds = keep_seconds  # how long after ended_at a covered token can still be valid
        self._accounts: dict[uuid.UUID, float] = {}
        self._sessions: dict[tuple[uuid.UUID, str], float] = {}

    def __len__(self) -> int:
        return len(self._accounts) + len(self._sessions)

    def add(self, account_id: uuid.UUID, session_id: str | None, ended_at: float) -> None:
        if ended_at + self.keep_seconds < time.time():
            return  # every token it covers has expired
        if session_id is None:
            self._accounts[account_id] = max(ended_at, self._accounts.get(account_id, ended_at))
        else:
            key = (account_id, session_id)
            self._sessions[key] = max(ended_at, self._sessions.get(key, ended_at))

    def covers(self, principal: Principal, issued_at: float) -> bool:
        """Was this token (of ``principal``, issued at ``issued_at``) issued at or before an end of
        its session or its account?"""
        if not self._accounts and not self._sessions:
            return False
        ended = self._accounts.get(principal.account_id)
        if ended is not None and issued_at <= ended:
            return True
        ended = self._sessions.get((principal.account_id, principal.session_id))
        return ended is not None and issued_at <= ended

    def purge(self, now: float | None = None) -> int:
        """Forget the ends whose covered tokens have all expired; how many were forgotten."""
        horizon = (time.time() if now is None else now) - self.keep_seconds
        gone = 0
        for table in (self._accounts, self._sessions):
            for key in [k for k, ended in table.items() if ended < horizon]:
                del table[key]
                gone += 1
        return gone


def keep_seconds_of(settings) -> float:
    return float(settings.access_token_ttl_seconds) + CLOCK_SKEW_SECONDS


# ------------------------------------------------------------------ the consumer's side


async def record_access_ended(conn: asyncpg.Connection, env: Envelope, data: AccessEnded) -> None:
    """In the consumer's transaction: the row (its trigger tells every process of the service)."""
    await conn.execute(
        """INSERT INTO access_revocations (event_id, account_id, session_id, reason, ended_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING""",
        env.id, data.account_id, data.session_id, data.reason, data.ended_at)


SUBSCRIPTION = Subscription("identity.access_ended", record_access_ended)


async def record_client_revoked(conn: asyncpg.Connection, env: Envelope, data: ClientRevoked) -> None:
    """A revoked machine client: every token of it (``sub`` = its id) issued at or before
    ``revoked_at`` is refused, as an end of access of every session of an account."""
    await conn.execute(
        """INSERT INTO access_revocations (event_id, account_id, session_id, reason, ended_at)
           VALUES ($1, $2, NULL, 'client_revoked', $3) ON CONFLICT (event_id) DO NOTHING""",
        env.id, data.client_id, data.revoked_at)


CLIENT_SUBSCRIPTION = Subscription("identity.client_revoked", record_client_revoked)
SUBSCRIPTIONS = [SUBSCRIPTION, CLIENT_SUBSCRIPTION]  # what a service that accepts tokens subscribes to


# ------------------------------------------------------------------ every process's side


class RevocationWakeup(NotifyWakeup):
    """LISTEN access_revocations: each notification carries its row and is applied at once. After
    a (re)connection the table is to be read again (``reload_needed``): what was notified while
    nobody listened is in it."""

    def __init__(self, dsn: str, revocations: Revocations) -> None:
        super().__init__(dsn, CHANNEL)
        self.revocations = revocations
        self.reload_needed = True

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def ensure(self) -> None:
        was = self._conn
        await super().ensure()
        if self._conn is not None and self._conn is not was:
            self.reload_needed = True

    def _notified(self, _conn, _pid, _channel, payload: str) -> None:
        if payload:
            try:
                row = json.loads(payload)
                self.revocations.add(uuid.UUID(row["account_id"]), row.get("session_id"), float(row["ended_at"]))
                return
            except (ValueError, KeyError, TypeError, AttributeError):
                log.warning("unreadable access revocation notification")
        # a bare NOTIFY (an operator's) or an unreadable one: the worker reads the table instead
        self.reload_needed = True
        self.set()


class RevocationWatcher(Worker):
    """Keeps a process's :class:`Revocations` current: applies notifications as they come (in the
    wake-up itself), reads the table after a (re)connection and every ``poll_seconds`` while not
    listening, and purges what is past its time (memory at once, the table once a minute)."""

    name = "access-revocations"

    def __init__(self, pool: asyncpg.Pool, dsn: str, revocations: Revocations, *, poll_seconds: float = 2.0,
                 purge_seconds: float = 60.0) -> None:
        super().__init__(poll_seconds=poll_seconds, wakeup=RevocationWakeup(dsn, revocations))
        self.pool, self.revocations, self.purge_seconds = pool, revocations, purge_seconds
        self._table_purged_at = 0.0

    async def load(self) -> int:
        """Read every end of access still in force from the table; how many."""
        async with self.pool.acquire(timeout=10) as conn:
            rows = await conn.fetch(
                """SELECT account_id, session_id, extract(epoch FROM ended_at)::float8 AS ended_at
                   FROM access_revocations WHERE ended_at > now() - make_interval(secs => $1)""",
                self.revocations.keep_seconds)
        for r in rows:
            self.revocations.add(r["account_id"], r["session_id"], r["ended_at"])
        return len(rows)

    async def step(self) -> bool:
        wakeup: RevocationWakeup = self.wakeup  # type: ignore[assignment]
        if wakeup.reload_needed or not wakeup.listening:
            wakeup.reload_needed = False
            try:
                await self.load()
            except BaseException:
                wakeup.reload_needed = True
                raise
        return False

    async def on_idle(self) -> None:
        self.revocations.purge()
        if time.monotonic() - self._table_purged_at >= self.purge_seconds:
            async with self.pool.acquire(timeout=10) as conn:
                gone = await conn.fetchval(
                    """WITH gone AS (DELETE FROM access_revocations
                                     WHERE ended_at < now() - make_interval(secs => $1) RETURNING 1)
                       SELECT count(*) FROM gone""", self.revocations.keep_seconds)
            self._table_purged_at = time.monotonic()
            if gone:
                log.info("ended access purged", extra=log_fields(rows=gone))


REVOCATIONS = web.AppKey("access_revocations", Revocations)
WATCHER = web.AppKey("access_revocation_watcher", RevocationWatcher)


async def honour_access_ended(app: web.Application) -> AsyncIterator[None]:
    """A service resource (``ServiceSpec.resources``, with :data:`SUBSCRIPTION` among its
    subscriptions): the app's token verifier refuses tokens whose access ended. The table is read
    before the service takes its first request; then the watcher keeps it current."""
    settings = app[SETTINGS]
    revocations = Revocations(keep_seconds_of(settings))
    watcher = RevocationWatcher(app[DB], settings.effective_database_url(), revocations)
    await watcher.load()
    app[REVOCATIONS] = revocations
    app[VERIFIER].revocations = revocations
    runner = run_worker(lambda _app: watcher, WATCHER, grace=2.0)
    async for _ in runner(app):
        yield
