"""Tokens stop working within seconds after logout, a password change or deactivation: identity
publishes identity.access_ended and the dossier, document and notification APIs refuse the tokens
it covers (401 problem+json, "Je bent uitgelogd. Log opnieuw in."), also tokens they had verified
and remembered before. One session, or every session of the account whose tokens were issued at
or before ended_at; a token issued after ended_at (a new login) and the tokens of other sessions
and accounts keep working. Two processes of a service share one queue, so only one of them
receives the event: the other learns it from the database (LISTEN/NOTIFY), and a process started
later reads it at its start. Real RabbitMQ and PostgreSQL; the events go through the broker."""
from __future__ import annotations

import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from services.document.app import make_app as make_document
from services.document.settings import DocumentSettings
from services.dossier.app import make_app as make_dossier
from services.dossier.settings import DossierSettings
from services.notification.app import make_app as make_notification
from services.notification.settings import NotificationSettings
from shared.app import DB
from shared.devtools.smtp_sink import SmtpSink
from shared.events.envelope import Envelope
from shared.events.identity_events import AccessEnded
from tests.support import env
from tests.support.apps import serve, settings
from tests.support.auth import TestIssuer, token_issuer
from tests.support.events import broker
from tests.support.wait import eventually

LOGGED_OUT = "Je bent uitgelogd. Log opnieuw in."
WITHIN = 5.0  # seconds: "within seconds"


@dataclass
class Services:
    issuer: TestIssuer
    broker: object
    dossier: TestClient  # two processes of the dossier service: one queue, one database
    dossier_2: TestClient
    document: TestClient
    notification: TestClient
    dossier_db: str
    document_db: str
    exchange: str
    stack: AsyncExitStack

    def dossier_settings(self) -> DossierSettings:
        return settings(DossierSettings, self.dossier_db, event_exchange=self.exchange,
                        auth_jwks_url=self.issuer.jwks_url, reminder_auto=False)

    def document_settings(self) -> DocumentSettings:
        return settings(DocumentSettings, self.document_db, event_exchange=self.exchange,
                        auth_jwks_url=self.issuer.jwks_url, render_processes=1,
                        dossier_url=str(self.dossier.make_url("")).rstrip("/"))

    async def publish(self, data: AccessEnded) -> None:
        envelope = Envelope(source="/doorstroom/identity", type="identity.access_ended",
                            data=data.model_dump(mode="json"), subject=str(data.account_id))
        await self.broker.publish(envelope.type, envelope.model_dump_json().encode(), message_id=str(envelope.id))


@pytest.fixture
async def services(unique):
    async with AsyncExitStack() as stack:
        issuer = await stack.enter_async_context(token_issuer())
        exchange = env.run_exchange(f"revoke_{unique}")
        b = await stack.enter_async_context(broker(exchange))
        sink = await stack.enter_async_context(SmtpSink())
        s = Services(issuer, b, None, None, None, None, f"dorev_{unique}", f"docrev_{unique}", exchange, stack)
        s.dossier = await stack.enter_async_context(serve(make_dossier(s.dossier_settings())))
        s.dossier_2 = await stack.enter_async_context(serve(make_dossier(s.dossier_settings())))
        s.document = await stack.enter_async_context(serve(make_document(s.document_settings())))
        s.notification = await stack.enter_async_context(serve(make_notification(settings(
            NotificationSettings, f"norev_{unique}", event_exchange=exchange, auth_jwks_url=issuer.jwks_url,
            smtp_port=sink.port))))
        yield s


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Caller:
    """One token, tried on every API: a mentor's (dossier and document) or an administrator's
    (notification: admin-only endpoints)."""

    def __init__(self, s: Services, role: str, **claims) -> None:
        self.s, self.role = s, role
        self.account_id = claims.setdefault("account_id", uuid.uuid4())
        self.headers = bearer(s.issuer.token(role, school_id=uuid.uuid4(), staff_id=uuid.uuid4(), **claims))

    def endpoints(self) -> list[tuple[TestClient, str]]:
        if self.role == "admin":
            return [(self.s.notification, "/v1/deliveries/stats")]
        return [(self.s.dossier, "/v1/overviews/classes"), (self.s.dossier_2, "/v1/overviews/classes"),
                (self.s.document, "/v1/print-jobs")]

    async def statuses(self) -> set[int]:
        found = set()
        for client, path in self.endpoints():
            r = await client.get(path, headers=self.headers)
            found.add(r.status)
            if r.status == 401:
                assert r.content_type == "application/problem+json"
                problem = await r.json()
                assert problem["detail"] == LOGGED_OUT and problem["code"] == "access-ended", problem
        return found

    async def accepted(self) -> bool:
        return await self.statuses() == {200}

    async def refused(self) -> bool:
        return await self.statuses() == {401}


def _moment(seconds_ago: float) -> float:
    return time.time() - seconds_ago


async def test_a_logout_ends_that_session_only_within_seconds(services: Services):
    account, other_account = uuid.uuid4(), uuid.uuid4()
    ended_session, other_session = uuid.uuid4().hex, uuid.uuid4().hex
    issued = _moment(120)
    ended = Caller(services, "mentor", account_id=account, session_id=ended_session, issued_at=issued)
    same_account_other_session = Caller(services, "mentor", account_id=account, session_id=other_session,
                                        issued_at=issued)
    same_session_id_other_account = Caller(services, "mentor", account_id=other_account, session_id=ended_session,
                                           issued_at=issued)
    for caller in (ended, same_account_other_session, same_session_id_other_account):
        assert await caller.accepted()  # verified now, and remembered by each verifier

    await services.publish(AccessEnded(account_id=account, session_id=ended_session, reason="logout",
                                       ended_at=datetime.fromtimestamp(_moment(60), UTC)))
    await eventually(ended.refused, timeout=WITHIN, what="the ended session's token refused everywhere")
    assert await same_account_other_session.accepted()
    assert await same_session_id_other_account.accepted()
    # a process that starts after the event knows it from its first request
    async with serve(make_document(services.document_settings())) as late:
        r = await late.get("/v1/print-jobs", headers=ended.headers)
        assert r.status == 401 and (await r.json())["detail"] == LOGGED_OUT
        assert (await late.get("/v1/print-jobs", headers=same_account_other_session.headers)).status == 200


async def test_every_session_of_an_account_before_ended_at(services: Services):
    account = uuid.uuid4()
    ended_at = int(time.time()) - 30 + 0.5  # half-way a second, to tell tokens of that same second apart
    before = [Caller(services, "mentor", account_id=account, issued_at=ended_at - 90),
              Caller(services, "mentor", account_id=account, issued_at=ended_at - 0.3)]  # same second, before
    after = [Caller(services, "mentor", account_id=account, issued_at=ended_at + 0.3),  # same second, after
             Caller(services, "mentor", account_id=account)]  # a new login now
    other = Caller(services, "mentor", issued_at=ended_at - 90)
    admin = Caller(services, "admin", account_id=account, issued_at=ended_at - 90)
    admin_later = Caller(services, "admin", account_id=account, issued_at=ended_at + 1)
    for caller in (*before, *after, other, admin, admin_later):
        assert await caller.accepted()

    await services.publish(AccessEnded(account_id=account, reason="password_changed",
                                       ended_at=datetime.fromtimestamp(ended_at, UTC)))
    for caller in (*before, admin):
        await eventually(caller.refused, timeout=WITHIN, what="a token issued before ended_at refused")
    for caller in (*after, other, admin_later):
        assert await caller.accepted()
    # only one of the two dossier processes received the event: both refuse, the table holds it once
    async with services.dossier.server.app[DB].acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM access_revocations WHERE account_id = $1", account) == 1


async def test_a_deactivated_account_cannot_use_its_tokens_and_the_rows_go_after_the_token_lifetime(services: Services):
    account = uuid.uuid4()
    caller = Caller(services, "mentor", account_id=account, issued_at=_moment(10))
    assert await caller.accepted()
    event = AccessEnded(account_id=account, reason="deactivated", ended_at=datetime.now(UTC))
    await services.publish(event)
    await eventually(caller.refused, timeout=WITHIN, what="the deactivated account's token refused")
    # the rows go once every token they cover has expired (ended_at + the longest token lifetime)
    app = services.dossier.server.app
    async with app[DB].acquire() as conn:
        await conn.execute("UPDATE access_revocations SET ended_at = now() - interval '1 hour' "
                           "WHERE account_id = $1", account)
    from shared.revocations import WATCHER
    watcher = app[WATCHER]
    watcher._table_purged_at = 0.0
    await watcher.on_idle()
    async with app[DB].acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM access_revocations WHERE account_id = $1", account) == 0


async def test_a_process_whose_listening_connection_was_lost_still_learns_it(services: Services):
    """The database restarted, failed over, or killed the LISTEN connections: the notification of
    the event reaches nobody, and the processes read the table instead (while not listening, and
    once they listen again)."""
    caller = Caller(services, "mentor", issued_at=_moment(60))
    assert await caller.accepted()
    async with services.dossier.server.app[DB].acquire() as conn:
        killed = await conn.fetchval(
            """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
               WHERE datname = current_database() AND query ILIKE 'LISTEN%access_revocations%'""")
    async with services.document.server.app[DB].acquire() as conn:
        killed += await conn.fetchval(
            """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
               WHERE datname = current_database() AND query ILIKE 'LISTEN%access_revocations%'""")
    assert killed == 3, "two dossier processes and one document process listened"
    await services.publish(AccessEnded(account_id=caller.account_id, reason="deactivated",
                                       ended_at=datetime.fromtimestamp(_moment(1), UTC)))
    await eventually(caller.refused, timeout=WITHIN, what="the token refused without the notification")

