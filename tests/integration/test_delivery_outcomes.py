"""The delivery outcomes of all SMTP connections of the moment go in one statement
(services/notification/outcomes.py), each still written only by its claim's holder."""
from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from services.notification.deliveries import DELIVERIES
from services.notification.outcomes import Outcome, OutcomeWriter
from shared import db
from tests.support.events import database


class CountingWriter(OutcomeWriter):
    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.statements = 0

    async def _write(self, outcomes, tokens):
        self.statements += 1
        return await super()._write(outcomes, tokens)


async def test_outcomes_handed_in_together_are_written_together_by_their_holders(unique):
    async with database(f"outcomes_{unique}") as (pool, _):
        await db.migrate(pool, [("notification", "services.notification.migrations")])
        token, other = uuid.uuid4(), uuid.uuid4()
        ids = [uuid.uuid4() for _ in range(30)]
        async with pool.acquire() as conn:
            await conn.executemany(
                """INSERT INTO deliveries (id, event_id, template, recipient, context, status, claim_token,
                                           lease_until, attempts)
                   VALUES ($1, $2, 'verification', $3, '{"code": "x"}', 'sending', $4, now() + interval '1 minute', 1)""",
                [(i, uuid.uuid4(), f"r{n}@example.nl", token if n < 29 else other) for n, i in enumerate(ids)])
        writer = CountingWriter(pool, DELIVERIES)
        outcomes = [Outcome(i, "sent", None, None, None) for i in ids[:20]]
        outcomes += [Outcome(i, "pending", "451 later", None, timedelta(minutes=2)) for i in ids[20:25]]
        outcomes += [Outcome(i, "failed", "550 no", "smtp_rejected", None) for i in ids[25:]]
        written = await asyncio.gather(*(writer.write(token, o) for o in outcomes))

        # the last one was claimed under another token: not ours to write
        assert written == [True] * 29 + [False]
        assert 1 <= writer.statements < len(outcomes) / 2
        async with pool.acquire() as conn:
            rows = {r["id"]: r for r in await conn.fetch("SELECT * FROM deliveries")}
        assert all(rows[i]["status"] == "sent" and rows[i]["sent_at"] and rows[i]["context"] == {}
                   for i in ids[:20])
        assert all(rows[i]["status"] == "pending" and rows[i]["last_error"] == "451 later"
                   and rows[i]["context"] == {"code": "x"} and rows[i]["claim_token"] is None for i in ids[20:25])
        assert all(rows[i]["status"] == "failed" and rows[i]["error_kind"] == "smtp_rejected" for i in ids[25:29])
        assert rows[ids[29]]["status"] == "sending" and rows[ids[29]]["claim_token"] == other
