"""Consuming domain events: effects and inbox row in one transaction, ack after commit,
retries through delay queues with growing delays, then parking with the error.

Messages that arrive together are handled together: what came in while the previous transaction
ran goes into the next one (up to ``batch_max``; one inbox statement and one commit for all of
them, no waiting for a batch to fill). If anything in such a transaction fails, it is rolled back
and each of its messages is handled again on its own, as a single message always is, so a failure
stays the failing message's own (its retries, its parking) and the others go through.

A failure is only the message's fault when the database answers: while the database is
unreachable (a restart, a failover, a network cut) the messages in hand are held, nothing more is
taken (the prefetch is full), no retry is spent, and handling resumes by itself once the database
answers again. A message is parked only for what is wrong with the message itself."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Awaitable, Callable

import aio_pika
import asyncpg
from aio_pika.abc import AbstractIncomingMessage
from pydantic import BaseModel

from shared import metrics, tracing
from shared.bus import Broker, QueueTopology
from shared.db import UNREACHABLE
from shared.events.envelope import Envelope, WireFormatError, parse_wire
from shared.events.registry import lookup
from shared.logs import describe_error, log_fields, request_id_var
from shared.loops import backoff, wait_event

# The transaction lost to another one (a deadlock, a serialization failure: two transactions of
# events arriving together, say): not the message's fault. Tried again alone, after a short pause,
# without spending one of its tries (after a few such losses in a row it counts like any failure).
CONFLICTS = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)
MAX_CONFLICTS = 5

log = logging.getLogger(__name__)

Handler = Callable[[asyncpg.Connection, Envelope, BaseModel], Awaitable[None]]


class PoisonMessage(Exception):
    """A message that can never be handled (not an envelope, unknown type): parked at once."""


class NotForUs(Exception):
    """A valid event of a known type that this consumer does not handle (e.g. offered again from
    the archive, or left in the queue by a binding since removed): acknowledged and ignored."""


class _HandlerFailed(Exception):
    """A handler raised in a transaction of several events: which event, and what it raised."""

    def __init__(self, env: Envelope, error: Exception) -> None:
        super().__init__(str(error))
        self.env, self.error = env, error


@dataclass(frozen=True)
class Subscription:
    event_type: str
    handler: Handler


class Consumer:
    def __init__(self, name: str, broker: Broker, pool: asyncpg.Pool, subscriptions: list[Subscription],
                 *, retry_delays_ms: tuple[int, ...], prefetch: int = 32, queue_type: str = "quorum",
                 batch_max: int = 50, batch_transactions: int = 2) -> None:
        self.name, self.broker, self.pool = name, broker, pool
        self.handlers = {s.event_type: s.handler for s in subscriptions}
        for event_type in self.handlers:
            lookup(event_type)  # fail fast on a typo
        self.topology = QueueTopology(broker.exchange_name, name, tuple(self.handlers), retry_delays_ms,
                                      queue_type=queue_type)
        self.prefetch = prefetch
        self.batch_max, self.batch_transactions = batch_max, batch_transactions
        self._waiting: list[tuple[Envelope, BaseModel, asyncio.Future]] = []
        self._batches: set[asyncio.Task] = set()
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._queue = None
        self._tag: str | None = None
        self._in_flight: set[asyncio.Task] = set()
        self._database_up = asyncio.Event()
        self._database_up.set()
        self._probe: asyncio.Task | None = None
        self.outage_started: float | None = None

    async def start(self) -> None:
        assert self.broker.connection is not None
        await self.broker.declare(self.topology)
        self._channel = await self.broker.connection.channel()
        await self._channel.set_qos(prefetch_count=self.prefetch)
        # declared (not merely looked up) on this channel, so the robust channel restores the
        # queue and its consumer after the broker link comes back
        self._queue = await self._channel.declare_queue(self.topology.queue, durable=True,
                                                        arguments=self.topology.queue_arguments())
        self._tag = await self._queue.consume(self._on_message)

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages, let the ones in hand finish, then close the channel."""
        if self._queue is not None and self._tag is not None:
            try:
                await self._queue.cancel(self._tag)
            except Exception:  # the link may already be gone
                pass
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=timeout)
        for task in list(self._in_flight):  # held through an outage: back to the queue unacked
            task.cancel()
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=2)
        if self._batches:  # a transaction of several under way: its outcome (not acked) is kept
            await asyncio.wait(self._batches, timeout=2)
        if self._probe is not None:
            self._probe.cancel()
        if self._channel is not None and not self._channel.is_closed:
            try:
                await self._channel.close()
            except Exception:  # the link may already be gone; unacked messages return either way
                pass

    @property
    def database_reachable(self) -> bool:
        return self._database_up.is_set()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task:
            self._in_flight.add(task)
        try:
            await self._handle(message)
        finally:
            if task:
                self._in_flight.discard(task)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        if self._database_up.is_set() and self.batch_max > 1:
            try:
                env = self._parse(message)
                payload = self._payload(env)
            except (PoisonMessage, NotForUs):
                env = None  # handled (parked, ignored) on the way of a single message
            if env is not None:
                outcome = await self._together(env, payload)
                if isinstance(outcome, bool):
                    metrics.CONSUMER_MESSAGES.labels(self.name, env.type, "handled" if outcome else "duplicate").inc()
                    await message.ack()
                    return
                # its own handler failed: that try counts (no second run of it); else it is tried alone
                await self._handle_alone(message, failed=outcome)
                return
        await self._handle_alone(message)

    async def _together(self, env: Envelope, payload: BaseModel) -> bool | Exception | None:
        """Handle the event in the next transaction of several: True (handled), False (a
        duplicate), its handler's exception (the transaction was rolled back), or None when the
        transaction failed for another event or another reason (then the caller tries it alone)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((env, payload, future))
        # a task that is not done looks at the waiting list again after its transaction; one that
        # is done (its done-callback may not have run yet) never will
        if sum(1 for task in self._batches if not task.done()) < self.batch_transactions:
            task = asyncio.create_task(self._run_batches(), name=f"{self.name}-batch")
            self._batches.add(task)
            task.add_done_callback(self._batches.discard)
        return await asyncio.shield(future)

    async def _run_batches(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:self.batch_max], self._waiting[self.batch_max:]
            fresh, failed = None, None
            try:
                fresh = await self._process_batch([(env, payload) for env, payload, _ in batch])
            except _HandlerFailed as exc:
                failed = exc
            except Exception:  # the database, say: each message on its own, where outages are dealt with
                pass
            answered: set = set()  # an event twice in one batch: handled once, the copy a duplicate
            for env, _, future in batch:
                if future.done():
                    continue
                if failed is not None and failed.env is env:
                    future.set_result(failed.error)
                elif fresh is None:
                    future.set_result(None)
                else:
                    future.set_result(env.id in fresh and env.id not in answered)
                    answered.add(env.id)

    async def _process_batch(self, events: list[tuple[Envelope, BaseModel]]) -> set:
        """One transaction: the inbox rows of all, the handler of each event not seen before (in
        the order they came); returns the ids handled now."""
        async with self.pool.acquire(timeout=10) as conn, conn.transaction():
            new = {r["event_id"] for r in await conn.fetch(
                """INSERT INTO inbox (consumer, event_id, event_type)
                   SELECT $1, e, t FROM unnest($2::uuid[], $3::text[]) AS u(e, t)
                   ON CONFLICT DO NOTHING RETURNING event_id""",
                self.name, [env.id for env, _ in events], [env.type for env, _ in events])}
            handled: set = set()
            for env, payload in events:
                if env.id not in new or env.id in handled:  # seen before (or twice in this batch)
                    continue
                handled.add(env.id)
                token = request_id_var.set(env.requestid)
                try:
                    with self._span(env):
                        started = time.perf_counter()
                        try:
                            await self.handlers[env.type](conn, env, payload)
                        except Exception as exc:
                            raise _HandlerFailed(env, exc) from exc
                        elapsed = time.perf_counter() - started
                        metrics.CONSUMER_DURATION.labels(self.name, env.type).observe(elapsed)
                        log.info("event handled", extra=log_fields(type=env.type, ms=round(elapsed * 1000, 1),
                                                                   together=len(events)))
                finally:
                    request_id_var.reset(token)
        return handled

    async def _handle_alone(self, message: AbstractIncomingMessage, *, failed: Exception | None = None) -> None:
        blips = conflicts = 0
        while True:
            await wait_event(self._database_up, None)  # during an outage: hold, take nothing new
            try:
                if failed is not None:  # its try in a transaction of several: dealt with as this one
                    error, failed = failed, None
                    raise error
                env = self._parse(message)
                token = request_id_var.set(env.requestid)
                try:
                    # the handler's work, logs, outbox rows and deliveries continue the event's trace
                    with self._span(env):
                        started = time.perf_counter()
                        fresh = await self.process(env)
                        elapsed = time.perf_counter() - started
                        if fresh:
                            metrics.CONSUMER_DURATION.labels(self.name, env.type).observe(elapsed)
                            log.info("event handled", extra=log_fields(type=env.type, ms=round(elapsed * 1000, 1)))
                        metrics.CONSUMER_MESSAGES.labels(self.name, env.type,
                                                         "handled" if fresh else "duplicate").inc()
                finally:
                    request_id_var.reset(token)
            except PoisonMessage as exc:
                await self._park(message, exc, attempts=self._attempt(message))
                return
            except NotForUs as exc:  # a known event this consumer has no handler for (a replay): done
                log.info("event without a handler here ignored", extra=log_fields(type=str(exc)))
                await message.ack()
                return
            except Exception as exc:
                if await self._outage(exc):
                    continue  # the same message again once the database is back; no retry spent
                if isinstance(exc, UNREACHABLE) and blips < 3:
                    blips += 1  # a connection lost while the database stayed up (a restart): try again
                    await asyncio.sleep(backoff(blips))
                    continue
                if isinstance(exc, CONFLICTS) and conflicts < MAX_CONFLICTS:
                    conflicts += 1
                    log.info("transaction conflict, trying again", extra=log_fields(
                        message_id=message.message_id, error=type(exc).__name__))
                    await asyncio.sleep(backoff(conflicts, base=0.02))
                    continue
                await self._retry_or_park(message, exc)
                return
            await message.ack()
            return

    async def _outage(self, exc: Exception) -> bool:
        """Was this failure the database being away rather than the message? If so, make sure the
        outage is being watched and answer True."""
        if not self._database_up.is_set():
            return True
        if await self._database_answers():
            return False
        if self._database_up.is_set():
            self._database_up.clear()
            self.outage_started = asyncio.get_running_loop().time()
            log.warning("database unreachable: consuming paused", extra=log_fields(
                consumer=self.name, error=type(exc).__name__))
            self._probe = asyncio.create_task(self._wait_for_database(), name=f"{self.name}-database-probe")
        return True

    async def _database_answers(self) -> bool:
        try:
            async with asyncio.timeout(5):
                async with self.pool.acquire() as conn:
                    await conn.fetchval("SELECT 1")
            return True
        except (Exception, TimeoutError):
            return False

    async def _wait_for_database(self) -> None:
        failures = 0
        while not await self._database_answers():
            failures += 1
            await asyncio.sleep(backoff(failures, cap=1.0))
        loop = asyncio.get_running_loop()
        log.warning("database reachable again: consuming resumed", extra=log_fields(
            consumer=self.name, seconds=round(loop.time() - (self.outage_started or loop.time()), 1)))
        self.outage_started = None
        self._database_up.set()

    def _parse(self, message: AbstractIncomingMessage) -> Envelope:
        # the structured content mode (application/cloudevents+json), and the application/json of
        # messages published before it, still in queues, retry and parking queues and the archive
        try:
            env = parse_wire(message.body, message.content_type)
        except WireFormatError as exc:
            raise PoisonMessage(str(exc)) from exc
        if env.type not in self.handlers:
            try:
                lookup(env.type)
            except LookupError:
                raise PoisonMessage(f"onbekend type {env.type}") from None
            raise NotForUs(env.type)
        return env

    async def process(self, env: Envelope) -> bool:
        """Run the handler once per event id; returns False for a duplicate."""
        payload = self._payload(env)
        async with self.pool.acquire(timeout=10) as conn, conn.transaction():
            fresh = await conn.fetchval(
                """INSERT INTO inbox (consumer, event_id, event_type) VALUES ($1, $2, $3)
                   ON CONFLICT DO NOTHING RETURNING true""", self.name, env.id, env.type)
            if not fresh:
                log.info("duplicate event ignored", extra=log_fields(event_id=str(env.id), type=env.type))
                return False
            await self.handlers[env.type](conn, env, payload)
        return True

    def _span(self, env: Envelope):
        """The span of handling ``env``: its handler's work, logs, outbox rows and deliveries
        continue the event's trace."""
        return tracing.span(self.name, f"process {env.type}", kind=tracing.SpanKind.CONSUMER,
                            parent=tracing.extract({"traceparent": env.traceparent or ""}),
                            attributes={"messaging.system": "rabbitmq", "messaging.operation.type": "process",
                                        "messaging.destination.name": env.type})

    @staticmethod
    def _payload(env: Envelope) -> BaseModel:
        try:
            return lookup(env.type).payload.model_validate(env.data)
        except Exception as exc:
            raise PoisonMessage(f"data past niet bij {env.type}: {exc}") from exc

    @staticmethod
    def _attempt(message: AbstractIncomingMessage) -> int:
        try:
            return int((message.headers or {}).get("x-attempt", 0))
        except (TypeError, ValueError):
            return 0

    def _copy(self, message: AbstractIncomingMessage, **headers) -> aio_pika.Message:
        merged = dict(message.headers or {})
        merged.update(headers)
        return aio_pika.Message(message.body, headers=merged, message_id=message.message_id,
                                type=message.type, content_type=message.content_type,
                                delivery_mode=aio_pika.DeliveryMode.PERSISTENT)

    async def _retry_or_park(self, message: AbstractIncomingMessage, exc: Exception) -> None:
        attempt = self._attempt(message) + 1
        if attempt > len(self.topology.retry_delays_ms):
            await self._park(message, exc, attempts=attempt)
            return
        log.warning("handler failed, retrying later", extra=log_fields(
            message_id=message.message_id, attempt=attempt, error=describe_error(exc)[:300]))
        metrics.CONSUMER_MESSAGES.labels(self.name, _type_label(message), "retried").inc()
        try:
            await self.broker.send_to_queue(self.topology.retry_queue(attempt), self._copy(
                message, **{"x-attempt": attempt, "x-last-error": describe_error(exc)[:1000]}))
        except Exception:
            await message.nack(requeue=True)
            return
        await message.ack()

    async def _park(self, message: AbstractIncomingMessage, exc: Exception, *, attempts: int) -> None:
        log.error("message parked", extra=log_fields(message_id=message.message_id,
                                                     error=describe_error(exc)[:300]))
        metrics.CONSUMER_MESSAGES.labels(self.name, _type_label(message), "parked").inc()
        detail = describe_error(exc)[:2000]  # PostgreSQL's errors by sqlstate, without the row's values
        try:
            await self.broker.send_to_queue(self.topology.parked, self._copy(
                message, **{"x-error": detail, "x-attempts": attempts,
                            "x-parked-at": datetime.now(UTC).isoformat(),
                            "x-original-queue": self.topology.queue}))
        except Exception:
            await message.nack(requeue=True)
            return
        await message.ack()


def _type_label(message: AbstractIncomingMessage) -> str:
    """The event type of a message for a metric label: a known type, else ``unknown`` (a label
    never takes what an unknown sender wrote)."""
    kind = message.type or ""
    try:
        lookup(kind)
    except LookupError:
        return "unknown"
    return kind
