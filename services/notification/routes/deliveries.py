"""Operator view of deliveries, for the platform administrator: counts per state and per kind of
failure (no personal data), and the failed mails with their reasons (addresses masked). The
counts are platform-wide, so school staff do not get them."""
from __future__ import annotations

import uuid
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, Field

from services.notification.deliveries import ERROR_KINDS
from services.notification.routes.common import api
from shared.api import Query, QueryInt, json_response, read_query
from shared.app import DB
from shared.auth import require


class DeliveryStats(BaseModel):
    counts: dict[str, int] = Field(description="pending, sending, sent, failed")
    failed_by_kind: dict[str, int] = Field(description="failed mails per kind of failure: " + ", ".join(ERROR_KINDS))
    oldest_pending_seconds: float | None = Field(description="how long the oldest mail that is due has waited")


class FailedDelivery(BaseModel):
    id: uuid.UUID
    template: str
    recipient: str = Field(description="the address, masked: r***@example.nl")
    attempts: int
    error_kind: str | None
    error_kind_label: str | None
    error: str | None
    created_at: datetime


class FailedDeliveries(BaseModel):
    items: list[FailedDelivery]


class FailedQuery(Query):
    limit: QueryInt = Field(50, ge=1, le=500, description="how many, newest first")


def masked(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


@api.route("GET", "/v1/deliveries/stats", summary="Aantal e-mails per status en per soort fout (beheerder)",
           response=DeliveryStats, tags=("beheer",), auth=True)
async def delivery_stats(request: web.Request) -> web.Response:
    await require(request, "admin")
    async with request.app[DB].acquire(timeout=10) as conn:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM deliveries GROUP BY status")
        kinds = await conn.fetch("""SELECT coalesce(error_kind, 'smtp_rejected') AS kind, count(*) AS n
                                    FROM deliveries WHERE status = 'failed' GROUP BY 1""")
        oldest = await conn.fetchval("""SELECT extract(epoch FROM now() - min(next_attempt_at)) FROM deliveries
                                        WHERE status = 'pending' AND next_attempt_at <= now()""")
    counts = {s: 0 for s in ("pending", "sending", "sent", "failed")}
    counts.update({r["status"]: r["n"] for r in rows})
    return json_response(DeliveryStats(counts=counts, failed_by_kind={r["kind"]: r["n"] for r in kinds},
                                       oldest_pending_seconds=float(oldest) if oldest is not None else None))


@api.route("GET", "/v1/deliveries/failed", summary="De mislukte e-mails met hun reden (beheerder)",
           response=FailedDeliveries, tags=("beheer",), auth=True, query=FailedQuery)
async def failed_deliveries(request: web.Request) -> web.Response:
    await require(request, "admin")
    limit = read_query(request, FailedQuery).limit
    async with request.app[DB].acquire(timeout=10) as conn:
        rows = await conn.fetch("""SELECT id, template, recipient, attempts, error_kind, last_error, created_at
                                   FROM deliveries WHERE status = 'failed' ORDER BY created_at DESC LIMIT $1""",
                                limit)
    return json_response(FailedDeliveries(items=[FailedDelivery(
        id=r["id"], template=r["template"], recipient=masked(r["recipient"]), attempts=r["attempts"],
        error_kind=r["error_kind"], error_kind_label=ERROR_KINDS.get(r["error_kind"] or ""),
        error=r["last_error"], created_at=r["created_at"]) for r in rows]))
