"""The dossier service: the workflow of part A, part B, the agreement and completion, the
overviews, the MBO inbox and the parent links; a read model of identity's roster."""
from __future__ import annotations

import secrets
from typing import AsyncIterator

import asyncpg
from aiohttp import web

from services.dossier import readmodel, reminders, retention
from services.dossier.context import PARENT_SECRET, settings_of
from services.dossier.routes import (agreement, dossiers, forms, mbo, me, overviews, parent, part_a,  # noqa: F401
                                     part_b)
from services.dossier.routes import retention as retention_routes  # noqa: F401
from services.dossier.routes import feed  # noqa: F401  (the pull API for machine clients, issue 12)
from services.dossier.routes import oso  # noqa: F401  (a completed dossier as OSO XML, issue 12)
from services.dossier.routes.common import api
from services.dossier.settings import DossierSettings
from shared import revocations
from shared.app import DB, ServiceSpec, create_app
from shared.sealing import is_sealed_bytes, keyring

__all__ = ["api", "make_app"]


SECRET_PURPOSE = "dossier-service-secret"


async def shared_secret(conn: asyncpg.Connection, name: str) -> bytes:
    """A random secret every replica shares: made once by the first process and kept in
    ``service_secrets`` sealed (``shared.sealing``, a key derived from EVENT_SEAL_KEY), so a dump of
    the database alone does not hold it. A secret kept in clear (before sealing) or sealed with a
    former key is sealed again with the current key, keeping its value (links made with it still
    work)."""
    ring = keyring()
    await conn.execute("INSERT INTO service_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                       name, ring.seal_bytes(secrets.token_bytes(32), SECRET_PURPOSE))
    stored = await conn.fetchval("SELECT value FROM service_secrets WHERE name = $1", name)
    if not is_sealed_bytes(stored):
        value = stored  # kept in clear by an earlier version
    else:
        value = ring.open_bytes(stored, SECRET_PURPOSE)
        if ring.sealed_with_current(stored):
            return value
    await conn.execute("UPDATE service_secrets SET value = $3 WHERE name = $1 AND value = $2",
                       name, stored, ring.seal_bytes(value, SECRET_PURPOSE))
    return value


async def parent_link_secret(app: web.Application) -> AsyncIterator[None]:
    """The key of parent links: PARENT_LINK_SECRET, or made once and shared, sealed, through the database."""
    configured = settings_of(app).parent_link_secret
    if configured is not None:
        app[PARENT_SECRET] = configured.get_secret_value().encode()
    else:
        async with app[DB].acquire(timeout=10) as conn:
            app[PARENT_SECRET] = await shared_secret(conn, "parent_link")
    yield


def make_app(settings: DossierSettings | None = None) -> web.Application:
    settings = settings or DossierSettings()
    spec = ServiceSpec(name="dossier", api=api, migrations="services.dossier.migrations",
                       subscriptions=[*readmodel.SUBSCRIPTIONS, *revocations.SUBSCRIPTIONS],
                       resources=[revocations.honour_access_ended, parent_link_secret, reminders.reminder_task,
                                  retention.retention_task])
    return create_app(spec, settings)
