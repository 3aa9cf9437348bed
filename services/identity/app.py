"""The identity service: schools and the catalogue, staff, the roster, accounts, activation codes,
logins and the keys that sign access tokens."""
from __future__ import annotations

import logging
from typing import AsyncIterator

from aiohttp import web

from services.identity import erasure, roster_import_worker
from services.identity.context import HASHER, KEYRING, VAULT, api
from services.identity.hasher import PasswordHasher
from services.identity.housekeeping import housekeeping_context
# the modules register their routes on the Api
from services.identity.routes import (accounts, activation_codes, classes, institutions, jwks, me,  # noqa: F401
                                      password_change, privacy, roster_imports, school_years, schools, sessions, staff,
                                      students)
from services.identity.routes import clients, oauth_token  # noqa: F401  (machine clients, issue 12)
from services.identity.settings import IdentitySettings
from services.identity.signing import IdentityVerifier, KeyRing, ensure_key
from services.identity.vault import Vault
from shared.app import DB, ServiceSpec, create_app
from shared.auth import VERIFIER, eager_authentication

log = logging.getLogger(__name__)


def vault_from(settings: IdentitySettings) -> Vault:
    return Vault(settings.encryption_key_bytes(), settings.hmac_key_bytes())


def make_app(settings: IdentitySettings | None = None) -> web.Application:
    settings = settings or IdentitySettings()
    vault = vault_from(settings)
    ring = KeyRing(vault, settings.access_token_ttl_seconds)
    verifier = IdentityVerifier(ring)

    async def keys(app: web.Application) -> AsyncIterator[None]:
        if settings.uses_dev_keys:
            log.warning("BSN_ENCRYPTION_KEY/BSN_HMAC_KEY not set: using the PUBLIC development keys "
                        "(never in production)")
        async with app[DB].acquire(timeout=30) as conn:
            await ensure_key(conn, vault)
            await ring.load(conn)
        verifier.attach(app[DB])
        yield

    async def password_hasher(app: web.Application) -> AsyncIterator[None]:
        hasher = PasswordHasher(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib,
                                parallelism=settings.argon2_parallelism, threads=settings.password_hash_threads)
        app[HASHER] = hasher
        yield
        hasher.close()

    spec = ServiceSpec(name="identity", api=api, migrations="services.identity.migrations",
                       subscriptions=erasure.SUBSCRIPTIONS,
                       resources=[keys, password_hasher, roster_import_worker.worker_context(settings),
                                  housekeeping_context(settings)])
    app = create_app(spec, settings)
    app.middlewares.append(eager_authentication)  # the verifier takes a pooled connection: not inside a handler's
    app[VAULT] = vault
    app[KEYRING] = ring
    app[VERIFIER] = verifier
    return app
