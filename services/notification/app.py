from __future__ import annotations

import asyncio
from typing import AsyncIterator

from aiohttp import web

from services.notification.routes import deliveries as _deliveries_routes  # noqa: F401  (registers)
from services.notification.routes.common import api
from services.notification.deliveries import DeliveryWorker
from services.notification.digest import digest_task
from services.notification.handlers import SUBSCRIPTIONS
from services.notification.settings import NotificationSettings
from services.notification.smtp import SmtpPool
from shared import revocations
from shared.app import DB, ServiceSpec, create_app
from shared.loops import stop_task

WORKER = web.AppKey("delivery_worker", DeliveryWorker)


def make_app(settings: NotificationSettings | None = None) -> web.Application:
    settings = settings or NotificationSettings()

    async def delivery_worker(app: web.Application) -> AsyncIterator[None]:
        smtp = SmtpPool(settings)
        worker = DeliveryWorker(app[DB], smtp, settings, settings.effective_database_url())
        app[WORKER] = worker
        task = asyncio.create_task(worker.run(), name=worker.name)
        yield
        worker.stop()  # the mails in hand are finished, the claimed but unsent ones handed back
        await stop_task(task, grace=settings.smtp_timeout_seconds + 2)
        await worker.close()
        await smtp.close()

    spec = ServiceSpec(name="notification", api=api, migrations="services.notification.migrations",
                       subscriptions=[*SUBSCRIPTIONS, *revocations.SUBSCRIPTIONS],
                       resources=[revocations.honour_access_ended, delivery_worker, digest_task])
    return create_app(spec, settings)
