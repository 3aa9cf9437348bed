"""RabbitMQ: one robust connection per process, publishing with confirms, the topology as data."""
from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection, AbstractExchange

from shared.events.envelope import CONTENT_TYPE

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 10.0
CONNECT_TIMEOUT = 15.0  # a broker that takes TCP but never finishes the handshake fails start-up


@dataclass(frozen=True)
class QueueTopology:
    """The queues of one consumer: its work queue, one delay queue per retry, a parking queue."""

    exchange: str
    consumer: str
    routing_keys: tuple[str, ...]
    retry_delays_ms: tuple[int, ...]
    delivery_limit: int = 20
    queue_type: str = "quorum"

    @property
    def queue(self) -> str:
        return f"{self.exchange}.{self.consumer}"

    @property
    def parked(self) -> str:
        return f"{self.queue}.parked"

    def retry_queue(self, attempt: int) -> str:
        return f"{self.queue}.retry.{attempt}"

    def queue_arguments(self) -> dict:
        # The delivery limit is the last line of defence for messages that crash the process
        # before it can ack or park them: the broker dead-letters them to the parking queue.
        args = {"x-queue-type": self.queue_type,
                "x-dead-letter-exchange": "", "x-dead-letter-routing-key": self.parked}
        if self.queue_type == "quorum":
            args["x-delivery-limit"] = self.delivery_limit
        return args


@dataclass(frozen=True)
class Archive:
    """The event archive: a RabbitMQ stream bound to every event type of the exchange. Every event
    is kept for ``max_age`` (or until ``max_bytes``), so nothing published is ever unroutable, an
    operator can replay a time range into a consumer's queue (``python -m shared.archive``), and a
    new subscriber can read the stream from a point in time (``x-stream-offset``)."""

    exchange: str
    max_age: str = "30D"
    max_bytes: int = 5 * 1024 ** 3

    @property
    def queue(self) -> str:
        return archive_queue(self.exchange)

    def arguments(self) -> dict:
        return {"x-queue-type": "stream", "x-max-age": self.max_age, "x-max-length-bytes": self.max_bytes,
                "x-stream-max-segment-size-bytes": min(self.max_bytes // 10, 100 * 1024 ** 2)}


def archive_queue(exchange: str) -> str:
    return f"{exchange}.archive"


@dataclass
class Broker:
    url: str
    exchange_name: str
    service_name: str
    archive: Archive | None = None
    connection: AbstractRobustConnection | None = None
    channel: AbstractRobustChannel | None = None
    exchange: AbstractExchange | None = None
    connect_timeout: float = CONNECT_TIMEOUT
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def connect(self) -> None:
        self.connection = await aio_pika.connect_robust(
            self.url, client_properties={"connection_name": self.service_name}, reconnect_interval=1,
            timeout=self.connect_timeout)
        self.channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        self.exchange = await self.channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
        if self.archive is not None:
            await self.declare_archive(self.archive)

    async def declare_archive(self, archive: Archive) -> None:
        """Declare the archive stream and bind it to every key (idempotent; every service does it).

        On a channel of its own: a stream declared earlier with other arguments (a changed
        retention) makes the broker close the declaring channel; then the existing stream is kept
        as it is (change its retention with a RabbitMQ policy) and a warning says so."""
        assert self.connection is not None
        channel = await self.connection.channel()
        try:
            queue = await channel.declare_queue(archive.queue, durable=True, arguments=archive.arguments())
            await queue.bind(archive.exchange, "#")
        except aio_pika.exceptions.ChannelPreconditionFailed as exc:
            log.warning("event archive exists with other arguments; kept as it is",
                        extra={"fields": {"queue": archive.queue, "error": str(exc)[:200]}})
            channel = await self.connection.channel()
            queue = await channel.declare_queue(archive.queue, passive=True)
            await queue.bind(archive.exchange, "#")
        finally:
            if not channel.is_closed:
                await channel.close()

    @property
    def is_connected(self) -> bool:
        return bool(self.connection and not self.connection.is_closed and self.channel
                    and not self.channel.is_closed)

    async def close(self) -> None:
        if self.connection:
            await self.connection.close()

    async def publish(self, routing_key: str, body: bytes, *, message_id: str,
                      headers: dict | None = None) -> None:
        """Publish persistently to the domain exchange; returns once the broker confirmed.

        ``body`` is a whole CloudEvent in the JSON event format: the message says so with the
        content-type of the CloudEvents AMQP binding's structured content mode
        (``application/cloudevents+json; charset=utf-8``); ``message_id`` is the event's ``id``,
        ``type`` its type (also the routing key), ``app_id`` the publishing service.

        Raises ``aio_pika.exceptions.DeliveryError`` when the message is unroutable or nacked.
        """
        assert self.exchange is not None, "connect() first"
        message = aio_pika.Message(
            body, message_id=message_id, type=routing_key, content_type=CONTENT_TYPE,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT, headers=headers or {},
            timestamp=datetime.now(UTC), app_id=self.service_name)
        await self.exchange.publish(message, routing_key, mandatory=True, timeout=PUBLISH_TIMEOUT)

    async def send_to_queue(self, queue: str, message: aio_pika.Message) -> None:
        """Publish straight to a queue (default exchange), with confirms; for retries and parking."""
        assert self.channel is not None
        await self.channel.default_exchange.publish(message, queue, mandatory=True,
                                                    timeout=PUBLISH_TIMEOUT)

    async def declare(self, topo: QueueTopology) -> aio_pika.abc.AbstractQueue:
        assert self.channel is not None and self.exchange is not None
        ch = self.channel
        await ch.declare_queue(topo.parked, durable=True, arguments={"x-queue-type": topo.queue_type})
        for attempt, delay in enumerate(topo.retry_delays_ms, start=1):
            # Delay queues only hold a message until its TTL sends it back: durable classic
            # queues (persistent messages) are enough and far lighter than a quorum queue each.
            await ch.declare_queue(topo.retry_queue(attempt), durable=True, arguments={
                "x-queue-type": "classic", "x-message-ttl": delay,
                "x-dead-letter-exchange": "", "x-dead-letter-routing-key": topo.queue})
        queue = await ch.declare_queue(topo.queue, durable=True, arguments=topo.queue_arguments())
        for key in topo.routing_keys:
            await queue.bind(self.exchange, key)
        return queue
