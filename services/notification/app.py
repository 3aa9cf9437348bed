from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

from aiohttp import web

from services.notification.api import api
from services.notification.deliveries import DeliveryWorker
from services.notification.handlers import SUBSCRIPTIONS
from services.notification.settings import NotificationSettings
from services.notification.smtp import SmtpPool
from shared.app import DB, ServiceSpec, create_app

WORKER = web.AppKey("delivery_worker", DeliveryWorker)


def make_app(settings: NotificationSettings | None = None) -> web.Application:
    settings = settings or NotificationSettings()

    async def delivery_worker(app: web.Application) -> AsyncIterator[None]:
        smtp = SmtpPool(settings)
        worker = DeliveryWorker(app[DB], smtp, settings, settings.effective_database_url())
        app[WORKER] = worker
        task = asyncio.create_task(worker.run(), name="delivery-worker")
        yield
        worker.stop()
        try:
            await asyncio.wait_for(asyncio.shield(task), 10)
        except asyncio.TimeoutError:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await worker.close()
        await smtp.close()

    spec = ServiceSpec(name="notification", api=api, migrations="services.notification.migrations",
                       subscriptions=SUBSCRIPTIONS, resources=[delivery_worker])
    return create_app(spec, settings)
