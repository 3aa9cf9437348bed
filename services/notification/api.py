"""Operator view of deliveries: counts per state, and the failed ones with their reason."""
from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from shared.api import Api, json_response
from shared.app import DB

api = Api(title="Doorstroom notification")


class DeliveryStats(BaseModel):
    counts: dict[str, int]


@api.route("GET", "/v1/deliveries/stats", summary="Aantal e-mails per status", response=DeliveryStats,
           tags=("beheer",))
async def delivery_stats(request: web.Request) -> web.Response:
    async with request.app[DB].acquire(timeout=10) as conn:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM deliveries GROUP BY status")
    counts = {s: 0 for s in ("pending", "sending", "sent", "failed")}
    counts.update({r["status"]: r["n"] for r in rows})
    return json_response(DeliveryStats(counts=counts))
