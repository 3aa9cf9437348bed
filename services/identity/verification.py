"""Verification mails: a single-use, expiring link to prove an e-mail address."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from shared.api import Api, json_response, read_body
from shared.app import DB, OUTBOX, SETTINGS
from shared.events.identity_events import VerificationRequested

api = Api(title="Doorstroom identity")


class VerificationMailRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr = Field(max_length=254)


class Accepted(BaseModel):
    detail: str


@api.route("POST", "/v1/verification-mails", summary="Stuur een verificatiemail naar een e-mailadres",
           body=VerificationMailRequest, response=Accepted, status=202, tags=("account",))
async def request_verification(request: web.Request) -> web.Response:
    body = await read_body(request, VerificationMailRequest)
    settings = request.app[SETTINGS]
    token = secrets.token_urlsafe(32)
    verification_id = uuid.uuid4()
    expires_at = datetime.now(UTC) + timedelta(hours=settings.verification_ttl_hours)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO email_verifications (id, email, token_hash, expires_at) VALUES ($1, $2, $3, $4)",
            verification_id, str(body.email).lower(), hashlib.sha256(token.encode()).hexdigest(), expires_at)
        await request.app[OUTBOX].add(conn, VerificationRequested(
            verification_id=verification_id, email=body.email, expires_at=expires_at,
            verify_url=f"{settings.public_base_url}/account/verifieren?token={token}"),
            subject=str(verification_id))
    return json_response(Accepted(detail="Als dit adres klopt, ontvang je binnen enkele minuten een e-mail."),
                         status=202)
