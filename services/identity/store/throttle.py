"""Failure counters in Postgres (so every process and replica sees the same ones).

Per key (an account, an IP address, a student redeeming codes), failures are counted within a
window. From ``soft`` failures on, each next try must wait a growing delay after the last failure
(1 s, 2 s, 4 s, ... up to ``max_delay``); at ``hard`` failures the key is blocked for ``block``.
The caller answers a refused try exactly as a wrong one, so the throttle reveals nothing.
Keys are keyed hashes: no address or e-mail address is stored. (The delays and the block are
``domain.throttle.Limits``.)
"""
from __future__ import annotations

import random

import asyncpg

from services.identity.domain.throttle import Limits


async def allowed(conn: asyncpg.Connection, checks: list[tuple[str, bytes, Limits]]) -> bool:
    """True when none of the (scope, key) counters forbids a try right now."""
    rows = await conn.fetch(
        """SELECT t.scope, t.key, t.failures, t.blocked_until > now() AS blocked,
                  extract(epoch FROM now() - t.last_failure_at) AS since_last,
                  (t.window_started_at < now() - w.span OR t.blocked_until <= now()) AS stale
           FROM throttle t
           JOIN unnest($1::text[], $2::bytea[], $3::interval[]) AS w(scope, key, span)
             ON t.scope = w.scope AND t.key = w.key""",
        [c[0] for c in checks], [c[1] for c in checks], [c[2].window for c in checks])
    limits = {(scope, key): lim for scope, key, lim in checks}
    for r in rows:
        if r["blocked"]:
            return False
        if r["stale"]:
            continue
        if r["since_last"] < limits[(r["scope"], r["key"])].delay(r["failures"]):
            return False
    return True


async def record_failure(conn: asyncpg.Connection, scope: str, key: bytes, limits: Limits) -> int:
    """Count one failure; block the key when it reaches the hard limit. Returns the count."""
    failures = await conn.fetchval(
        """INSERT INTO throttle AS t (scope, key, failures, window_started_at, last_failure_at)
           VALUES ($1, $2, 1, now(), now())
           ON CONFLICT (scope, key) DO UPDATE SET
               failures = CASE WHEN t.window_started_at < now() - $3::interval OR t.blocked_until <= now()
                               THEN 1 ELSE t.failures + 1 END,
               window_started_at = CASE WHEN t.window_started_at < now() - $3::interval OR t.blocked_until <= now()
                                        THEN now() ELSE t.window_started_at END,
               blocked_until = CASE WHEN t.blocked_until <= now() THEN NULL ELSE t.blocked_until END,
               last_failure_at = now()
           RETURNING failures""", scope, key, limits.window)
    if failures >= limits.hard:
        await conn.execute("UPDATE throttle SET blocked_until = now() + $3::interval WHERE scope = $1 AND key = $2",
                           scope, key, limits.block)
    if random.random() < 0.01:  # now and then, forget counters nobody has touched for a day
        await conn.execute("DELETE FROM throttle WHERE last_failure_at < now() - interval '1 day'")
    return failures


async def reset(conn: asyncpg.Connection, scope: str, key: bytes) -> None:
    await conn.execute("DELETE FROM throttle WHERE scope = $1 AND key = $2", scope, key)
