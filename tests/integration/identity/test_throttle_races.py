"""Throttles under parallel tries (issue 10): a try is counted before it is checked, so tries made
at the same moment count one by one. For logins and password changes the checks are counted at the
password hasher (every Argon2 verification); for activation codes at the counter itself (every code
looked up is settled as a failure or a success).

What is asserted, precisely:
- N parallel wrong tries: at most the hard limit is checked, every other one is refused unchecked,
  and every answer is the same (a refused try looks like a wrong one; for a password change, the
  owner is told "te vaak", as before).
- The right password (or code) sent while the hard limit of wrong tries is in flight is refused
  without being checked, with the same answer as a wrong one; once those have failed the key is
  blocked and the right one is still refused.
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator

import asyncpg

from services.identity.context import HASHER, VAULT
from shared.app import DB
from tests.integration.identity.conftest import LOGINS, world
from tests.integration.identity.test_activation import issue, redeem, student_account

EMAIL, PASSWORD = LOGINS["counsellor"]
WRONG = "niet het goede wachtwoord"
NEW = "een lange nieuwe zin als wachtwoord"


class Checks:
    """The service's password hasher, watched: counts the verifications (the passwords in order) and
    holds them while ``held`` (so tries stay in flight)."""

    def __init__(self, w, *, held: bool = False) -> None:
        self.passwords: list[str] = []
        self.gate = asyncio.Event()
        if not held:
            self.gate.set()
        hasher = w.app[HASHER]
        real = hasher.verify

        async def verify(encoded, password):
            self.passwords.append(password)
            await self.gate.wait()
            return await real(encoded, password)

        hasher.verify = verify

    @property
    def count(self) -> int:
        return len(self.passwords)


async def login(w, password: str) -> tuple[int, dict]:
    r = await w.client.post("/v1/sessions", json={"email": EMAIL, "password": password})
    return r.status, await r.json()


async def change(w, auth: dict, current: str) -> tuple[int, dict]:
    r = await w.client.post("/v1/me/password", json={"current_password": current, "new_password": NEW}, headers=auth)
    return r.status, await r.json()


async def until(condition, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def started(coros) -> list[asyncio.Task]:
    return [asyncio.ensure_future(c) for c in coros]


async def row(w, sql: str, *args) -> tuple | None:
    async with w.app[DB].acquire(timeout=30) as conn:
        r = await conn.fetchrow(sql, *args)
    return tuple(r) if r is not None else None


# --- logins ----------------------------------------------------------------------------------------


async def test_forty_parallel_wrong_logins_check_at_most_the_hard_limit(w):
    hard = w.settings.login_account_hard_limit
    checks = Checks(w)
    answers = await asyncio.gather(*(login(w, WRONG) for _ in range(40)))
    assert 1 <= checks.count <= hard, f"{checks.count} of 40 parallel tries were checked (hard limit {hard})"
    assert all(a == answers[0] for a in answers) and answers[0][0] == 401, "refused tries look like wrong ones"
    # what was checked is counted, nothing is left in flight, and the account is blocked
    failures, in_flight, blocked = await row(
        w, "SELECT failures, in_flight, blocked_until > now() FROM throttle WHERE scope = 'login-account'")
    assert (failures, in_flight) == (checks.count, 0)
    if checks.count == hard:
        assert blocked
    assert await login(w, PASSWORD) == answers[0], "blocked: the right password gets the same answer"
    # once the block is over the right password works and, as before, resets the account's count;
    # the address's counter keeps the failures, not the right try
    wrong_ones = checks.count
    await w.execute("UPDATE throttle SET blocked_until = now() - interval '1 second' WHERE scope = 'login-account'")
    assert (await login(w, PASSWORD))[0] == 201
    assert await w.fetchval("SELECT count(*) FROM throttle WHERE scope = 'login-account'") == 0
    assert await row(w, "SELECT failures, in_flight FROM throttle WHERE scope = 'login-ip'") == (wrong_ones, 0)


async def test_the_right_password_is_refused_unchecked_while_the_limit_is_in_flight(w):
    """39 wrong passwords and then the right one, all at once: the first ``hard`` wrong ones are
    held inside the check, the other 29 are refused at once, and the right one, sent while those are
    in flight, is refused without a check, with a wrong password's answer."""
    hard = w.settings.login_account_hard_limit
    checks = Checks(w, held=True)
    wrong = started(login(w, WRONG) for _ in range(39))
    try:
        await until(lambda: checks.count + sum(t.done() for t in wrong) >= 39)
        assert checks.count == hard and sum(t.done() for t in wrong) == 39 - hard
        right = asyncio.ensure_future(login(w, PASSWORD))
        await until(lambda: right.done() or checks.count > hard)
    finally:
        checks.gate.set()
    answers = await asyncio.gather(*wrong)
    assert await right == answers[0] and answers[0][0] == 401, "not logged in, and nothing tells it apart"
    assert checks.count == hard and PASSWORD not in checks.passwords, "the right password was never checked"
    assert await w.fetchval("SELECT count(*) FROM sessions") == 0
    assert await login(w, PASSWORD) == answers[0], "the account is blocked now"


# --- password change -------------------------------------------------------------------------------


async def test_forty_parallel_wrong_current_passwords_check_at_most_the_hard_limit(w):
    hard = w.settings.login_account_hard_limit
    auth = {"Authorization": f"Bearer {(await w.login(EMAIL, PASSWORD))['access_token']}"}
    checks = Checks(w)
    answers = await asyncio.gather(*(change(w, auth, WRONG) for _ in range(40)))
    assert 1 <= checks.count <= hard
    statuses = [s for s, _ in answers]
    assert statuses.count(422) == checks.count and statuses.count(429) == 40 - checks.count, \
        "each checked try is wrong, each other one refused"
    assert await change(w, auth, PASSWORD) == next(a for a in answers if a[0] == 429), "blocked"
    assert await w.events("identity.password_changed") == []


async def test_the_right_current_password_is_refused_unchecked_while_the_limit_is_in_flight(w):
    hard = w.settings.login_account_hard_limit
    auth = {"Authorization": f"Bearer {(await w.login(EMAIL, PASSWORD))['access_token']}"}
    before = await w.fetchval("SELECT password_hash FROM accounts WHERE email = $1", EMAIL)
    checks = Checks(w, held=True)
    wrong = started(change(w, auth, WRONG) for _ in range(39))
    try:
        await until(lambda: checks.count + sum(t.done() for t in wrong) >= 39)
        assert checks.count == hard
        right = asyncio.ensure_future(change(w, auth, PASSWORD))
        await until(lambda: right.done() or checks.count > hard)
    finally:
        checks.gate.set()
    answers = await asyncio.gather(*wrong)
    status, problem = await right
    assert status == 429 and problem["code"] == "too-many-tries" and PASSWORD not in checks.passwords
    assert sorted(s for s, _ in answers) == [422] * hard + [429] * (39 - hard)
    assert await w.fetchval("SELECT password_hash FROM accounts WHERE email = $1", EMAIL) == before
    assert await w.events("identity.password_changed") == []


# --- activation codes ------------------------------------------------------------------------------


@asynccontextmanager
async def holding_account(w, account_id) -> AsyncIterator[asyncpg.Connection]:
    """A row lock on an account from outside the service: a redemption that reaches it waits there,
    so the tries pile up and are let go at once."""
    conn = await asyncpg.connect(w.settings.effective_database_url())
    tx = conn.transaction()
    await tx.start()
    try:
        assert await conn.fetchval("SELECT true FROM accounts WHERE id = $1 FOR UPDATE", account_id)
        yield conn
    finally:
        await tx.rollback()
        await conn.close()


async def waiting_on_locks(conn: asyncpg.Connection) -> int:
    await conn.execute("SELECT pg_stat_clear_snapshot()")  # the view is a snapshot per transaction
    return await conn.fetchval("""SELECT count(*) FROM pg_stat_activity
                                  WHERE datname = current_database() AND wait_event_type = 'Lock'""")


async def until_settled(conn: asyncpg.Connection, tries: list[asyncio.Future], *, at_most_waiting: int = 1000) -> None:
    """Until every try is answered or waits at the held account (or ``at_most_waiting`` do)."""
    async with asyncio.timeout(30):
        while True:
            waiting = await waiting_on_locks(conn)
            if waiting + sum(t.done() for t in tries) >= len(tries) or waiting >= at_most_waiting:
                return
            await asyncio.sleep(0.01)


async def noor_with_a_code(w) -> tuple[dict, str, object]:
    """Noor van Dijk registered (not linked yet), her code mailed: (Authorization, code, account id)."""
    await issue(w, "counsellor", channel="email", student_id=str(await w.student_id("100238")))
    [event] = await w.events("identity.activation_code_issued")
    auth = await student_account(w, "123456733", "noor@example.nl")
    return auth, event["code"], await w.fetchval("SELECT id FROM accounts WHERE email = 'noor@example.nl'")


async def redeem_counter(w, account_id) -> tuple[int, int] | None:
    key = w.app[VAULT].lookup_hash(str(account_id), purpose="redeem")
    return await row(w, "SELECT failures, in_flight FROM throttle WHERE scope = 'redeem' AND key = $1", key)


async def test_forty_parallel_wrong_codes_look_up_at_most_the_hard_limit(unique):
    async with world(f"thr_redeem_{unique}", redeem_soft_limit=3, redeem_hard_limit=3, db_pool_max=8) as w:
        auth, _, account_id = await noor_with_a_code(w)
        guesses = [f"{c * 4}-{c * 4}-{c * 2}" for c in "ABCDEFGHJKMNPQRSTUVW"] * 2
        async with holding_account(w, account_id) as outside:
            tries = started(redeem(w, auth, g) for g in guesses)
            await until_settled(outside, tries, at_most_waiting=w.settings.db_pool_max)
            assert sum(t.done() for t in tries) == 37, "three tries at the held account, the rest refused"
        answers = await asyncio.gather(*tries)
        assert all(a == answers[0] for a in answers) and answers[0][1]["code"] == "wrong-code"
        assert await redeem_counter(w, account_id) == (3, 0), "three codes looked up and counted"


async def test_the_right_code_is_refused_while_the_limit_is_in_flight(unique):
    """Four wrong codes at once, held before their look-up; then the right code: refused without a
    look-up, with a wrong code's answer."""
    async with world(f"thr_redeem_right_{unique}", redeem_soft_limit=3, redeem_hard_limit=3, db_pool_max=8) as w:
        auth, code, account_id = await noor_with_a_code(w)
        async with holding_account(w, account_id) as outside:
            wrong = started(redeem(w, auth, f"{c * 4}-{c * 4}-{c * 2}") for c in "ABCD")
            await until_settled(outside, wrong)
            right = asyncio.ensure_future(redeem(w, auth, code))
            await until_settled(outside, [*wrong, right])
        answers = await asyncio.gather(*wrong)
        assert all(a == answers[0] for a in answers) and answers[0][1]["code"] == "wrong-code"
        assert await right == answers[0], "the right code, while three are in flight: refused like a wrong one"
        assert await w.fetchval("SELECT account_id FROM students WHERE student_number = '100238'") is None
        assert await redeem_counter(w, account_id) == (3, 0)
