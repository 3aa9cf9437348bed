"""The parents' links, as a parent finds them in the mail: the loader listens to the events the
notification service makes those mails from (dossier.parent_review_requested, on a queue of its
own that ends with it) and opens the sealed link with the services' key (EVENT_SEAL_KEY)."""
from __future__ import annotations

import asyncio
import uuid
from urllib.parse import parse_qs, urlsplit

import aio_pika

from services.identity.demo_school.client import DemoFailed
from shared import sealing
from shared.bus import Broker
from shared.events.dossier_events import ParentReviewRequested
from shared.events.envelope import parse_wire
from shared.settings import ServiceSettings

EVENT = "dossier.parent_review_requested"


class ParentMailbox:
    """``async with ParentMailbox(settings) as mailbox:`` ... ``await mailbox.token_for(dossier_id)``."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.broker = Broker(settings.amqp_url, settings.event_exchange, "demo-data")
        self.ring = sealing.keyring_from(settings)
        self.tokens: dict[uuid.UUID, str] = {}
        self.arrived = asyncio.Event()

    async def __aenter__(self) -> "ParentMailbox":
        try:
            await self.broker.connect()
        except (OSError, asyncio.TimeoutError, aio_pika.exceptions.AMQPError) as exc:
            raise DemoFailed(f"RabbitMQ is niet bereikbaar ({type(exc).__name__}): de demo leest daar de links voor "
                             "de ouders. Draait RabbitMQ, en klopt AMQP_URL? Laad de demo daarna opnieuw.") from None
        assert self.broker.channel is not None
        queue = await self.broker.channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(self.broker.exchange, EVENT)
        await queue.consume(self._on_message)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.broker.close()

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            event = parse_wire(message.body, message.content_type)
            data = ParentReviewRequested.model_validate(event.data)
            with sealing.using(self.ring):
                link = data.link_url.reveal()
            token = parse_qs(urlsplit(link).query).get("token", [""])[0]
            self.tokens[data.dossier_id] = token
            self.arrived.set()

    async def token_for(self, dossier_id: uuid.UUID, timeout: float) -> str | None:
        """The token of the newest link sent for ``dossier_id``; None when none came within ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while dossier_id not in self.tokens:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                return self.tokens.get(dossier_id)
        return self.tokens[dossier_id]
