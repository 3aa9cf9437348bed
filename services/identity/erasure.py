"""The retention rule, identity's part: the dossier service decides when a student who left is due
(its daily retention run, after the notice to the school) and publishes dossier.student_erased; identity
then erases the roster record and everything of the student's account: activation codes, sessions and
their refresh tokens, mailed links, the account itself, in the consumer's transaction with its inbox
row (a repeated event changes nothing). Every service refuses the account's tokens from then on
(identity.access_ended). What stays is a log line with counts, never a name, number or address."""
from __future__ import annotations

import logging

import asyncpg

from services.identity.store.sessions import access_ended, end_sessions
from shared.consumer import Subscription
from shared.events.dossier_events import StudentErased
from shared.events.envelope import Envelope
from shared.logs import log_fields
from shared.outbox import Outbox

log = logging.getLogger(__name__)
OUTBOX = Outbox("identity")


async def on_student_erased(conn: asyncpg.Connection, env: Envelope, data: StudentErased) -> None:
    student = await conn.fetchrow("SELECT id, account_id, active FROM students WHERE id = $1 AND school_id = $2 "
                                  "FOR UPDATE", data.student_id, data.school_id)
    if student is None:
        return  # erased before
    if student["active"]:  # back on the roster since the dossier service decided: keep what is here
        log.warning("erasure of a student who is active again skipped", extra=log_fields(event_id=str(env.id)))
        return
    account_id = student["account_id"] or data.account_id
    codes = await conn.execute("DELETE FROM activation_codes WHERE student_id = $1", student["id"])
    await conn.execute("DELETE FROM students WHERE id = $1", student["id"])
    account = 0
    if account_id and await conn.fetchval("SELECT kind = 'student' FROM accounts WHERE id = $1", account_id):
        _, ended_at = await end_sessions(conn, account_id)
        await access_ended(conn, OUTBOX, account_id, "deactivated", ended_at)
        await conn.execute("DELETE FROM sessions WHERE account_id = $1", account_id)  # with their refresh tokens
        await conn.execute("DELETE FROM email_tokens WHERE account_id = $1", account_id)
        await conn.execute("UPDATE activation_codes SET redeemed_by = NULL WHERE redeemed_by = $1", account_id)
        account = int((await conn.execute("DELETE FROM accounts WHERE id = $1", account_id)).split()[-1])
    log.info("student erased (retention)", extra=log_fields(activation_codes=int(codes.split()[-1]),
                                                              accounts=account))


SUBSCRIPTIONS = [Subscription("dossier.student_erased", on_student_erased)]
