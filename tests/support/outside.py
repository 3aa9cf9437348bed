"""A subscriber written without the project's code, as another system would: pika (blocking) for
AMQP, the official CloudEvents SDK for the event (the AMQP binding, which picks the structured
content mode by the content-type), and the published docs/asyncapi.json with jsonschema."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pika
from cloudevents.core.bindings import amqp as ce_amqp
from cloudevents.core.formats.json import JSONFormat

from tests.support import env


@dataclass
class Received:
    routing_key: str
    content_type: str | None
    message_id: str | None
    type: str | None
    app_id: str | None
    headers: dict[str, Any]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def cloudevent(self):
        """The event as the CloudEvents SDK reads an AMQP message (AMQP 0-9-1's content_type is the
        binding's content-type property; headers are the application properties)."""
        properties = {"content-type": self.content_type} if self.content_type else {}
        return ce_amqp.from_amqp(ce_amqp.AMQPMessage(properties, dict(self.headers), self.body), JSONFormat())


class OutsideSubscriber:
    """An exclusive queue bound to ``keys`` on ``exchange``. Blocking: call from a thread
    (``await asyncio.to_thread(OutsideSubscriber, ...)``)."""

    def __init__(self, exchange: str, *keys: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(env.AMQP_URL))
        self.channel = self.connection.channel()
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        for key in keys:
            self.channel.queue_bind(self.queue, exchange, routing_key=key)
        self.received: list[Received] = []

    def take(self, count: int, timeout: float = 15.0) -> list[Received]:
        """Wait until ``count`` messages arrived in all; returns every message so far."""
        return self.take_until(lambda received: len(received) >= count, timeout, f"{count} messages")

    def take_until(self, done: Callable[[list[Received]], bool], timeout: float = 15.0,
                   what: str = "the messages") -> list[Received]:
        """Wait until ``done(every message so far)``; returns every message so far."""
        deadline = time.monotonic() + timeout
        while not done(self.received):
            method, props, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"not within {timeout} s: {what} ({len(self.received)} arrived)")
                self.connection.sleep(0.05)
                continue
            self.received.append(Received(method.routing_key, props.content_type, props.message_id, props.type,
                                          props.app_id, dict(props.headers or {}), body))
        return self.received

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()
