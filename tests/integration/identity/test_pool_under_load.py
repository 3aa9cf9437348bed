"""Identity checks every token's session in its database. Verified inside a handler that already
holds a pooled connection, that check took a second one: with as many requests at once as the pool
has connections, each held one and waited for another, and all failed after the pool's timeout
(found by bench/portal.py). Tokens are now verified before the handler runs."""
from __future__ import annotations

import asyncio

from tests.integration.identity.conftest import LOGINS, world


async def test_more_requests_at_once_than_pooled_connections_all_succeed(unique):
    async with world(f"pool_{unique}", db_pool_min=1, db_pool_max=2) as w:
        mentor = await w.headers("mentor_4a")
        counsellor = await w.headers("counsellor")

        async def classes(headers):
            r = await w.client.get("/v1/classes", headers=headers)
            return r.status

        statuses = await asyncio.wait_for(
            asyncio.gather(*(classes(mentor if i % 2 else counsellor) for i in range(24))), 60)
        assert statuses == [200] * 24
        # a token whose session ended is still refused, and still before the handler runs
        tokens = await w.login(*LOGINS["counsellor"])
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await w.client.delete("/v1/sessions/current", headers=bearer)).status in (200, 204)
        r = await w.client.get("/v1/classes", headers=bearer)
        assert r.status == 401 and (await r.json())["code"] == "session-ended"
        # a public endpoint does not mind a stale token
        assert (await w.client.get("/v1/institutions", headers=bearer)).status == 200
