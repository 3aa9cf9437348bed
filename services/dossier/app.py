"""The dossier service: the workflow of part A, part B, the agreement and completion, the
overviews, the MBO inbox and the parent links; a read model of identity's roster."""
from __future__ import annotations

import secrets
from typing import AsyncIterator

from aiohttp import web

from services.dossier import readmodel, reminders
from services.dossier.context import PARENT_SECRET, settings_of
from services.dossier.routes import agreement, dossiers, forms, mbo, me, overviews, parent, part_a, part_b  # noqa: F401
from services.dossier.routes.common import api
from services.dossier.settings import DossierSettings
from shared import revocations
from shared.app import DB, ServiceSpec, create_app

__all__ = ["api", "make_app"]


async def parent_link_secret(app: web.Application) -> AsyncIterator[None]:
    """The key of parent links: from the settings, or made once and shared through the database."""
    configured = settings_of(app).parent_link_secret
    if configured is not None:
        app[PARENT_SECRET] = configured.get_secret_value().encode()
    else:
        async with app[DB].acquire(timeout=10) as conn:
            await conn.execute("INSERT INTO service_secrets (name, value) VALUES ('parent_link', $1) "
                               "ON CONFLICT DO NOTHING", secrets.token_bytes(32))
            app[PARENT_SECRET] = await conn.fetchval("SELECT value FROM service_secrets WHERE name = 'parent_link'")
    yield


def make_app(settings: DossierSettings | None = None) -> web.Application:
    settings = settings or DossierSettings()
    spec = ServiceSpec(name="dossier", api=api, migrations="services.dossier.migrations",
                       subscriptions=[*readmodel.SUBSCRIPTIONS, revocations.SUBSCRIPTION],
                       resources=[revocations.honour_access_ended, parent_link_secret, reminders.reminder_task])
    return create_app(spec, settings)
