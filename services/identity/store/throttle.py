"""Counters of tries in Postgres (so every process and replica sees the same ones).

Per key (an account, an IP address, a student redeeming codes) a counter holds the failures within
a window and the tries *in flight*. A try is counted before it is checked (``reserve``: one
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` per key, under the counter's row lock), so tries
made at the same moment count one by one: failures plus tries in flight never pass ``hard``, and a
try beyond it is refused without being checked at all (no Argon2 run, no code look-up). After the
check the caller settles the try: ``failed`` (a failure; at ``hard`` failures the key is blocked for
``block``), ``reset`` (right: the failures are forgotten, as a right password always did) or
``release`` (no guess: an expired but real code, a right password for the address counter).

From ``soft`` failures on, a try must also wait a growing delay after the last failure (1 s, 2 s,
4 s, ... up to ``max_delay``; ``domain.throttle.Limits``). A try never settled (its process died)
stops counting as in flight ``IN_FLIGHT_SECONDS`` after the counter's last try. The caller answers
a refused try exactly as a wrong one, so the throttle reveals nothing. Keys are keyed hashes: no
address or e-mail address is stored.
"""
from __future__ import annotations

import random

import asyncpg

from services.identity.domain.throttle import Limits

IN_FLIGHT_SECONDS = 60  # far longer than any check takes

# the window is over, or a block has ended: failures count from zero again
_STALE = "(t.window_started_at < clock_timestamp() - $3::interval OR t.blocked_until <= clock_timestamp())"
# the tries in flight, unless the last one began so long ago that they were never settled
_FLYING = f"(CASE WHEN t.in_flight_at > clock_timestamp() - interval '{IN_FLIGHT_SECONDS} seconds' " \
          "THEN t.in_flight ELSE 0 END)"


def wait_seconds(failures: str, soft: str, max_delay: str) -> str:
    """``Limits.delay`` in SQL (tests/integration/identity/test_throttle_sql.py holds them equal)."""
    return (f"(CASE WHEN {failures} < {soft} THEN 0 "
            f"ELSE least({max_delay}::float8, power(2.0, least({failures} - {soft}, 60))) END)")


# the counter takes one more try now: not blocked, below ``hard`` (failures and tries in flight),
# and the wait after the last failure is over ($4 hard, $5 soft, $6 max_delay)
_TAKES_A_TRY = f"""coalesce(t.blocked_until <= clock_timestamp(), true)
      AND CASE WHEN {_STALE} THEN {_FLYING} < $4
               ELSE t.failures + {_FLYING} < $4
                    AND extract(epoch FROM clock_timestamp() - t.last_failure_at)
                        >= {wait_seconds('t.failures', '$5', '$6')}
          END"""

_RESERVE = f"""
    INSERT INTO throttle AS t (scope, key, failures, window_started_at, last_failure_at, in_flight, in_flight_at)
    VALUES ($1, $2, 0, clock_timestamp(), clock_timestamp(), 1, clock_timestamp())
    ON CONFLICT (scope, key) DO UPDATE SET
        failures = CASE WHEN {_STALE} THEN 0 ELSE t.failures END,
        window_started_at = CASE WHEN {_STALE} THEN clock_timestamp() ELSE t.window_started_at END,
        blocked_until = NULL,
        in_flight = {_FLYING} + 1,
        in_flight_at = clock_timestamp()
    WHERE {_TAKES_A_TRY}
    RETURNING t.in_flight"""

_FAILED = f"""
    INSERT INTO throttle AS t (scope, key, failures, window_started_at, last_failure_at, blocked_until)
    VALUES ($1, $2, 1, clock_timestamp(), clock_timestamp(),
            CASE WHEN $4 <= 1 THEN clock_timestamp() + $5::interval END)
    ON CONFLICT (scope, key) DO UPDATE SET
        failures = CASE WHEN {_STALE} THEN 1 ELSE t.failures + 1 END,
        window_started_at = CASE WHEN {_STALE} THEN clock_timestamp() ELSE t.window_started_at END,
        last_failure_at = clock_timestamp(),
        in_flight = greatest(t.in_flight - 1, 0),
        blocked_until = CASE WHEN (CASE WHEN {_STALE} THEN 1 ELSE t.failures + 1 END) >= $4
                             THEN greatest(t.blocked_until, clock_timestamp() + $5::interval)
                             WHEN {_STALE} THEN NULL ELSE t.blocked_until END"""


# reserve and failed at once (a try that counts as a failure whatever comes of it): the counter's
# row as ``_RESERVE`` then ``_FAILED`` leave it, in one statement. $7 the block.
_COUNT_FAILURE = f"""
    INSERT INTO throttle AS t (scope, key, failures, window_started_at, last_failure_at, blocked_until)
    VALUES ($1, $2, 1, clock_timestamp(), clock_timestamp(),
            CASE WHEN $4 <= 1 THEN clock_timestamp() + $7::interval END)
    ON CONFLICT (scope, key) DO UPDATE SET
        failures = CASE WHEN {_STALE} THEN 1 ELSE t.failures + 1 END,
        window_started_at = CASE WHEN {_STALE} THEN clock_timestamp() ELSE t.window_started_at END,
        last_failure_at = clock_timestamp(),
        in_flight = {_FLYING},
        in_flight_at = clock_timestamp(),
        blocked_until = CASE WHEN (CASE WHEN {_STALE} THEN 1 ELSE t.failures + 1 END) >= $4
                             THEN clock_timestamp() + $7::interval END
    WHERE {_TAKES_A_TRY}
    RETURNING true"""


class _Refused(Exception):
    pass


async def reserve(conn: asyncpg.Connection, checks: list[tuple[str, bytes, Limits]]) -> bool:
    """Count one try in flight on every (scope, key) counter, if each takes one now; True when counted.

    All or nothing: when one counter refuses, none counts the try (a savepoint, or a transaction of
    its own). Each counter's row stays locked until the caller's transaction ends: inside a longer
    transaction, the tries on one key wait for each other. Give ``checks`` in the same order
    everywhere (account before address), so two requests never wait for each other crosswise."""
    try:
        async with conn.transaction():
            for scope, key, limits in checks:
                if await conn.fetchval(_RESERVE, scope, key, limits.window, limits.hard, limits.soft,
                                       limits.max_delay) is None:
                    raise _Refused
    except _Refused:
        return False
    return True


async def failed(conn: asyncpg.Connection, scope: str, key: bytes, limits: Limits) -> None:
    """Settle a counted try as a failure: one failure more; at ``hard`` failures the key is blocked."""
    await conn.execute(_FAILED, scope, key, limits.window, limits.hard, limits.block)
    await _forget_now_and_then(conn)


async def count_failure(conn: asyncpg.Connection, scope: str, key: bytes, limits: Limits) -> bool:
    """``reserve`` and ``failed`` in one statement, for a try that counts as a failure whatever
    comes of it (a registration); True when the counter took it. Call it on a connection outside
    any transaction: the counter's row is then locked for this one statement only, so tries on
    one key (a school's network behind one address) do not wait for each other's work."""
    counted = await conn.fetchval(_COUNT_FAILURE, scope, key, limits.window, limits.hard, limits.soft,
                                  limits.max_delay, limits.block)
    await _forget_now_and_then(conn)
    return bool(counted)


async def _forget_now_and_then(conn: asyncpg.Connection) -> None:
    if random.random() < 0.01:  # now and then, forget counters nobody has touched for a day
        await conn.execute("DELETE FROM throttle WHERE last_failure_at < now() - interval '1 day' "
                           "AND (blocked_until IS NULL OR blocked_until < now())")


async def _settle(conn: asyncpg.Connection, scope: str, key: bytes, forget_failures: bool) -> None:
    # nothing else in flight (and no failures left): the counter goes
    gone = await conn.execute(
        f"""DELETE FROM throttle t WHERE scope = $1 AND key = $2 AND ($3 OR failures = 0)
            AND (in_flight <= 1 OR in_flight_at <= clock_timestamp() - interval '{IN_FLIGHT_SECONDS} seconds')""",
        scope, key, forget_failures)
    if gone == "DELETE 0":
        await conn.execute(
            """UPDATE throttle SET in_flight = greatest(in_flight - 1, 0),
                   failures = CASE WHEN $3 THEN 0 ELSE failures END,
                   blocked_until = CASE WHEN $3 THEN NULL ELSE blocked_until END
               WHERE scope = $1 AND key = $2""", scope, key, forget_failures)


async def reset(conn: asyncpg.Connection, scope: str, key: bytes) -> None:
    """Settle a counted try as right (a right password, a redeemed code): the failures are forgotten."""
    await _settle(conn, scope, key, True)


async def release(conn: asyncpg.Connection, scope: str, key: bytes) -> None:
    """Settle a counted try that was no guess (an expired but real code; a right password, for the
    address's counter): it no longer counts."""
    await _settle(conn, scope, key, False)
