"""Tokens for tests of services other than identity: a test signer and its JWKS served on
loopback, so the services verify tokens exactly as in production (over HTTP, by kid)."""
from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from typing import AsyncIterator

from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.auth import Principal, TokenSigner, jwks, new_private_key_pem


class TestIssuer:
    __test__ = False

    def __init__(self) -> None:
        self.signer = TokenSigner(new_private_key_pem(), kid=f"test-{uuid.uuid4().hex[:8]}")
        self.jwks_url = ""

    def token(self, role: str = "student", *, ttl: int = 900, issued_at: float | None = None, **claims) -> str:
        """A token for a principal with ``claims``; ``issued_at`` (seconds since the epoch): made
        at that moment instead of now (for tests of ended access), valid ``ttl`` seconds from then."""
        claims.setdefault("account_id", uuid.uuid4())
        claims.setdefault("session_id", uuid.uuid4().hex)
        return self.signer.sign(Principal(role=role, **claims), ttl_seconds=ttl, issued_at=issued_at)

    def headers(self, role: str = "student", **claims) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **claims)}"}


@asynccontextmanager
async def token_issuer() -> AsyncIterator[TestIssuer]:
    """``async with token_issuer() as issuer:`` then pass ``auth_jwks_url=issuer.jwks_url``."""
    issuer = TestIssuer()
    app = web.Application()

    async def keys(_: web.Request) -> web.Response:
        return web.json_response(jwks(issuer.signer))

    app.router.add_get("/.well-known/jwks.json", keys)
    server = TestServer(app)
    await server.start_server()
    issuer.jwks_url = str(server.make_url("/.well-known/jwks.json"))
    try:
        yield issuer
    finally:
        await server.close()
