"""The public keys with which other services check identity's access tokens (JWKS)."""
from __future__ import annotations

from aiohttp import web

from services.identity.context import KEYRING, api
from shared.api import json_response
from shared.app import DB
from shared.problems import Problem


@api.route("GET", "/.well-known/jwks.json", summary="De publieke sleutels waarmee access tokens te controleren zijn",
           tags=("inloggen",))
async def jwks_document(request: web.Request) -> web.Response:
    ring = request.app[KEYRING]
    if ring.loaded_at == 0 or not ring.signers:
        raise Problem(503, "De sleutels zijn nog niet geladen. Probeer het zo opnieuw.")
    async with request.app[DB].acquire(timeout=10) as conn:
        await ring.refresh_if_stale(conn)
    return json_response(ring.jwks(), headers={"Cache-Control": "public, max-age=60"})
