"""Deliveries: made from events (idempotently), sent by a worker that claims due rows with the
shared claim mechanism (``shared/claims.py``), so any number of notification processes share the
work and a mail in hand is never taken over by another.

- Each SMTP connection is a lane: it claims a few due deliveries under a claim token, sends them
  one by one and records each outcome as soon as the server answered (``WHERE claim_token``;
  the outcomes of all lanes of the moment in one statement, ``outcomes.py``) before its next
  mail, so a crash can repeat at most the one mail per connection that was accepted but not yet
  recorded, and that repeat has the same Message-ID (made from the delivery id alone).
- Every kind of failure has an attempt limit and ends ``failed`` with its error and its kind
  (``error_kind``): an SMTP 5xx at once, a mail that cannot be made at once, SMTP 4xx and lost
  connections after ``delivery_max_attempts``, and a mail whose sending keeps crashing the
  process (its claims keep running out) after as many claims.

A delivery's context (names, links, activation codes: what the mail says) is needed only until
the mail is sent or given up: then it is emptied. Links and codes are kept sealed in it
(``shared.sealing``) and opened only to build the mail. The rest of the row (template, recipient,
status, error) stays for the operator's view and is deleted after ``delivery_retention_days``."""
from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from datetime import timedelta
from typing import Callable

import asyncpg

from services.notification.outcomes import Outcome, OutcomeWriter
from services.notification.settings import NotificationSettings
from services.notification.smtp import PermanentFailure, SmtpPool, TemporaryFailure, Unbuildable
from services.notification.templates import render
from shared import metrics, tracing
from shared.claims import ClaimTable, LeaseKeeper
from shared.logs import describe_error, log_fields, request_id_var
from shared.sealing import SealError
from shared.loops import NotifyWakeup, Worker

log = logging.getLogger(__name__)

DELIVERIES = ClaimTable(
    table="deliveries",
    due="status = 'pending' AND next_attempt_at <= now()",
    claimed="status = 'sending'",
    on_claim="status = 'sending', attempts = attempts + 1",
    order="next_attempt_at",
    returning="id, template, recipient, context, attempts, request_id, traceparent, claim_token")

HAND_BACK = f"""UPDATE deliveries SET status = 'pending', claim_token = NULL, lease_until = NULL,
                       attempts = greatest(attempts - 1, 0), next_attempt_at = now()
                WHERE id = ANY($1::uuid[]) AND claim_token = $2 AND {DELIVERIES.claimed}"""

# what went wrong, for the counts (no personal data): error_kind
ERROR_KINDS = {
    "smtp_rejected": "de mailserver weigerde de e-mail (5xx)",
    "smtp_gave_up": "de mailserver was te lang niet bereikbaar of gaf steeds een tijdelijke fout (4xx)",
    "unbuildable": "de e-mail kon niet worden opgemaakt",
    "crashed": "het versturen brak steeds af",
}


async def create_delivery(conn: asyncpg.Connection, *, event_id: uuid.UUID, template: str,
                          recipient: str, context: dict) -> None:
    await conn.execute(
        """INSERT INTO deliveries (id, event_id, template, recipient, context, request_id, traceparent)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id, template, recipient) DO NOTHING""",
        uuid.uuid4(), event_id, template, recipient.lower(), context, request_id_var.get(),
        tracing.current_traceparent())


def default_retry_delay(attempts: int, base_seconds: float = 60.0) -> timedelta:
    """1 min, 2, 4, ... capped at 1 hour (with the default base)."""
    return timedelta(seconds=min(3600, base_seconds * 2 ** max(0, attempts - 1)))


class DeliveryWorker(Worker):
    name = "delivery-worker"

    def __init__(self, pool: asyncpg.Pool, smtp: SmtpPool, settings: NotificationSettings, dsn: str,
                 *, retry_delay: Callable[[int], timedelta] | None = None) -> None:
        super().__init__(poll_seconds=settings.delivery_poll_seconds, wakeup=NotifyWakeup(dsn, "deliveries"))
        self.pool, self.smtp, self.settings, self.dsn = pool, smtp, settings, dsn
        self.retry_delay = retry_delay or functools.partial(
            default_retry_delay, base_seconds=settings.delivery_retry_base_seconds)
        self.keeper = LeaseKeeper(pool, DELIVERIES, timedelta(seconds=settings.delivery_lease_seconds))
        self.outcomes = OutcomeWriter(pool, DELIVERIES)
        self.claim_size = settings.delivery_claim_size
        self.lost_claims = 0  # outcomes that found their claim gone (counted, logged)
        self._next_housekeeping = 0.0

    # -------------------------------------------------------------- the loop

    @property
    def lanes(self) -> int:  # one loop per SMTP connection: none waits for another's claim
        return self.smtp.size

    async def step(self) -> bool:
        await self._lane()
        return False  # this lane worked until nothing was due

    async def on_idle(self) -> None:
        if time.monotonic() >= self._next_housekeeping:
            self._next_housekeeping = time.monotonic() + 3600
            await self.housekeeping()

    async def run_once(self) -> int:
        """Driven by hand (tests): every lane claims and sends until nothing is due; how many
        deliveries were worked."""
        results = await asyncio.gather(*(self._lane() for _ in range(self.smtp.size)), return_exceptions=True)
        for result in results:  # every lane ended (none is left running); then the first failure
            if isinstance(result, BaseException):
                raise result
        return sum(results)

    async def _lane(self) -> int:
        worked = 0
        while not self.stopping:
            async with self.keeper.hold() as token:
                rows = await self.keeper.claim(token, self.claim_size)
                if not rows:
                    return worked
                if len(rows) == self.claim_size:
                    self.wake()  # there may be more: the next idle lane claims them meanwhile
                for i, row in enumerate(rows):
                    if self.stopping:
                        await self._hand_back(token, rows[i:])
                        return worked
                    await self._record(token, await self._send_one(row))
                    worked += 1
        return worked

    # -------------------------------------------------------------- one mail

    async def _send_one(self, row: asyncpg.Record) -> tuple:
        """Send one mail; returns its outcome as (id, status, error, kind, delay). The sending is a
        span of the trace of the event the delivery was made from; its logs carry that trace id."""
        with tracing.span("notification", f"send {row['template']}", kind=tracing.SpanKind.CLIENT,
                          parent=tracing.extract({"traceparent": row["traceparent"] or ""}),
                          attributes={"doorstroom.template": row["template"]}):
            outcome = await self._send_traced(row)
        metrics.DELIVERY_ATTEMPTS.labels({"sent": "sent", "failed": "failed"}.get(outcome[1], "retry")).inc()
        return outcome

    async def _send_traced(self, row: asyncpg.Record) -> tuple:
        token = request_id_var.set(row["request_id"])
        attempts, limit = row["attempts"], self.settings.delivery_max_attempts
        try:
            if attempts > limit:  # claimed that often without an outcome: sending it kills the process
                outcome = (row["id"], "failed", f"opgegeven na {attempts - 1} pogingen: het versturen brak steeds af",
                           "crashed", None)
            else:
                message = self.smtp.build(row["recipient"], self._render(row), row["id"])
                with metrics.SMTP_SEND.time():
                    await self.smtp.send(message)
                outcome = (row["id"], "sent", None, None, None)
        except Unbuildable as exc:
            outcome = (row["id"], "failed", f"kan niet worden opgemaakt: {exc}", "unbuildable", None)
        except PermanentFailure as exc:
            outcome = (row["id"], "failed", str(exc), "smtp_rejected", None)
        except TemporaryFailure as exc:
            outcome = self._later(row, str(exc), "smtp_gave_up")
        except Exception as exc:  # anything else: tried again, as often as a temporary failure
            log.exception("delivery failed unexpectedly")
            outcome = self._later(row, describe_error(exc)[:500], "crashed")
        log.info("delivery " + outcome[1], extra=log_fields(delivery_id=str(row["id"]), kind=outcome[3]))
        request_id_var.reset(token)
        return outcome

    @staticmethod
    def _render(row: asyncpg.Record):
        try:
            return render(row["template"], row["context"])
        except SealError:
            raise  # a missing or wrong EVENT_SEAL_KEY: tried again later, as a crash, once the keys are right
        except Exception as exc:  # a template and its context never change: it would fail every time
            raise Unbuildable(f"{type(exc).__name__} in sjabloon {row['template']}") from exc

    def _later(self, row: asyncpg.Record, error: str, kind: str) -> tuple:
        if row["attempts"] >= self.settings.delivery_max_attempts:
            return row["id"], "failed", f"opgegeven na {row['attempts']} pogingen: {error}", kind, None
        return row["id"], "pending", error, None, self.retry_delay(row["attempts"])

    async def _record(self, token: uuid.UUID, outcome: tuple) -> None:
        """Write the outcome as its claim's holder (with the other lanes' outcomes of the moment:
        ``outcomes.py``). While the database is away the outcome is kept and written once it is
        back (the claim is still ours unless another worker took the mail after the lease ran
        out: then it is counted as lost)."""
        if not await self.outcomes.write(token, Outcome(*outcome)):
            self.lost_claims += 1
            log.warning("delivery outcome not recorded: the claim was lost", extra=log_fields(
                delivery_id=str(outcome[0]), status=outcome[1]))

    async def _hand_back(self, token: uuid.UUID, rows: list[asyncpg.Record]) -> None:
        """Stopping: the claimed but unsent deliveries go back at once, their claim not counted."""
        async with self.pool.acquire(timeout=10) as conn:
            await conn.execute(HAND_BACK, [r["id"] for r in rows], token)

    # -------------------------------------------------------------- housekeeping

    async def housekeeping(self) -> int:
        """Delete sent and failed deliveries older than the retention; returns how many."""
        async with self.pool.acquire(timeout=10) as conn:
            status = await conn.execute(
                """DELETE FROM deliveries WHERE status IN ('sent', 'failed')
                   AND created_at < now() - make_interval(days => $1)""", self.settings.delivery_retention_days)
        return int(status.split()[-1])

    async def close(self) -> None:
        await self.keeper.close()
        await super().close()


_SENT_EVERY = 30.0  # seconds: the sent rows are most of the table (kept for the retention)
_sent = {"at": float("-inf"), "count": 0}


async def sample_deliveries(conn: asyncpg.Connection) -> None:
    """``doorstroom_deliveries{state}`` (shared.metrics): what waits and what failed from the
    partial indexes at every sample; the sent rows, a count of most of the table, at most every
    ``_SENT_EVERY`` seconds."""
    counts = {r["status"]: r["n"] for r in await conn.fetch(
        """SELECT status, count(*) AS n FROM deliveries WHERE status IN ('pending', 'sending') GROUP BY status""")}
    counts["failed"] = await conn.fetchval("SELECT count(*) FROM deliveries WHERE status = 'failed'")
    if time.monotonic() - _sent["at"] >= _SENT_EVERY:
        _sent["count"] = await conn.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sent'")
        _sent["at"] = time.monotonic()
    counts["sent"] = _sent["count"]
    for state in ("pending", "sending", "sent", "failed"):
        metrics.DELIVERIES.labels(state).set(counts.get(state, 0))


metrics.add_sampler("notification", sample_deliveries)
