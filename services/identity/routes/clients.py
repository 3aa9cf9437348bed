"""Machine clients: the platform administrator registers a client for an MBO institution (an
institution's student administration, a regional dashboard), rotates its secret or key, revokes it
and reads its log. The client gets tokens at ``POST /oauth/token`` (``routes/oauth_token.py``).

- A client secret is made here, shown once in the answer, and kept only as a keyed hash (HMAC-SHA256
  with the look-up key, as activation codes and login counters are): a secret of 256 random bits
  needs no slow hash.
- Rotation: a new secret (or, for private_key_jwt, a new public key); the old one keeps working
  for ``keep_old_minutes`` (default CLIENT_ROTATION_OVERLAP_MINUTES, 60; 0: at once), so the
  administration can switch without a gap. Tokens already issued stay valid until they expire
  (10 minutes); to stop a client at once, revoke it.
- Revocation: the client gets no more tokens, and identity.client_revoked (through the outbox)
  makes every service refuse the tokens it was given, within seconds.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.identity.context import VAULT, api, path_uuid, settings_of
from services.identity.domain.clients import public_jwk
from services.identity.domain.tokens import new_token
from services.identity.schemas import single_line
from services.identity.store import clients as store
from shared.api import Query, json_response, read_body, read_query
from shared.app import DB, OUTBOX
from shared.auth import require
from shared.events.identity_events import ClientRevoked
from shared.logs import log_fields
from shared.problems import Problem
from shared.text import MultiLine

log = logging.getLogger(__name__)

RECEIVING_KINDS = ("mbo", "havo", "vmbo")
TAGS = ("koppelingen",)
NO_CLIENT = "Deze koppeling bestaat niet."
SECRET_PURPOSE = "client-secret"
Scope = Literal["dossiers:read", "dossiers:handle"]


def secret_hash(request: web.Request, secret: str) -> bytes:
    return request.app[VAULT].lookup_hash(secret, purpose=SECRET_PURPOSE)


def new_secret() -> str:
    return "dsk_" + new_token()


class PublicKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    public_key: dict[str, Any] | MultiLine | None = Field(
        None, description="private_key_jwt: the client's public key as a JWK (object) or PEM (text); RSA >= 2048 "
                          "bits, EC or Ed25519", json_schema_extra={"maxLength": 20000})


class ClientIn(PublicKeyIn):
    institution_id: uuid.UUID = Field(description="the MBO institution whose completed dossiers the client reads")
    name: single_line(min_length=2, max_length=100) = Field(description="shown in histories and view logs")
    scopes: list[Scope] = Field(min_length=1, max_length=2)
    auth_method: Literal["client_secret", "private_key_jwt"] = Field(
        "client_secret", description="client_secret: a secret made now and shown once (client_secret_basic or "
                                     "client_secret_post); private_key_jwt: a client assertion signed with the "
                                     "key whose public half is public_key (RFC 7523)")


class RotateIn(PublicKeyIn):
    keep_old_minutes: int | None = Field(None, ge=0, le=1440, description=(
        "how long the old secret or key keeps working (default CLIENT_ROTATION_OVERLAP_MINUTES; 0: at once)"))


class CredentialOut(BaseModel):
    credential_id: uuid.UUID
    kind: Literal["secret", "public_key"]
    created_at: str
    expires_at: str | None = Field(None, description="set after a rotation: the old credential works until then")
    public_jwk: dict[str, Any] | None = None


class ClientOut(BaseModel):
    client_id: uuid.UUID
    institution_id: uuid.UUID
    institution_name: str
    name: str
    scopes: list[str]
    auth_method: str
    created_at: str
    revoked_at: str | None
    last_token_at: str | None
    credentials: list[CredentialOut]


class ClientWithSecret(ClientOut):
    client_secret: str | None = Field(None, description="shown only in this answer; kept only as a hash")
    token_endpoint: str = "/oauth/token"


class ClientList(BaseModel):
    clients: list[ClientOut]


class ClientsQuery(Query):
    institution_id: uuid.UUID | None = Field(None, description="only the clients of this institution")


class LogEntry(BaseModel):
    at: str
    event: str
    detail: str | None
    by: str | None


class ClientLog(BaseModel):
    client_id: uuid.UUID
    name: str
    entries: list[LogEntry]


def _key(body: PublicKeyIn) -> dict:
    if body.public_key is None:
        raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input",
                      errors=[{"field": "public_key", "message": "Geef de publieke sleutel van de koppeling."}])
    try:
        return public_jwk(body.public_key)
    except ValueError as exc:
        raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input",
                      errors=[{"field": "public_key", "message": str(exc)}]) from None


@api.route("POST", "/v1/clients", summary="Een koppeling (machine-client) registreren voor een MBO-instelling; "
           "het geheim staat alleen in dit antwoord", body=ClientIn, response=ClientWithSecret, status=201,
           tags=TAGS, auth=True)
async def register(request: web.Request) -> web.Response:
    principal = await require(request, "admin")
    body = await read_body(request, ClientIn)
    jwk = _key(body) if body.auth_method == "private_key_jwt" else None
    if body.auth_method == "client_secret" and body.public_key is not None:
        raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input", errors=[{
            "field": "public_key", "message": "Een publieke sleutel hoort bij auth_method private_key_jwt."}])
    secret = new_secret() if jwk is None else None
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        kind = await conn.fetchval("SELECT kind FROM schools WHERE id = $1", body.institution_id)
        if kind not in RECEIVING_KINDS:  # any receiving school: an MBO, or a HAVO/VMBO school taking part
            raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input", errors=[{
                "field": "institution_id", "message": "Kies een ontvangende school (mbo, havo of vmbo) die bestaat."}])
        client_id = await store.create_client(conn, institution_id=body.institution_id, name=body.name,
                                              scopes=list(dict.fromkeys(body.scopes)), auth_method=body.auth_method,
                                              by=principal.account_id)
        await store.add_credential(conn, client_id, secret_hash=secret_hash(request, secret) if secret else None,
                                   public_jwk=jwk)
        await store.log(conn, client_id, "registered", " ".join(body.scopes), by=principal.account_id)
        row = await store.load_client(conn, client_id)
    log.info("machine client registered", extra=log_fields(client_id=str(client_id), client_name=body.name))
    out = ClientWithSecret(**store.client_out(row), client_secret=secret)
    return json_response(out, status=201, headers={"Location": f"/v1/clients/{client_id}", "Cache-Control": "no-store"})


@api.route("GET", "/v1/clients", summary="De koppelingen (per instelling met ?institution_id=)", response=ClientList,
           tags=TAGS, auth=True, query=ClientsQuery)
async def list_clients(request: web.Request) -> web.Response:
    await require(request, "admin")
    query = read_query(request, ClientsQuery)
    async with request.app[DB].acquire(timeout=10) as conn:
        rows = await store.list_clients(conn, query.institution_id)
    return json_response(ClientList(clients=[ClientOut(**store.client_out(r)) for r in rows]))


async def _existing(conn, client_id, *, lock: bool = False):
    """The client's row; 404 when there is none."""
    row = await store.load_client(conn, client_id, lock=lock)
    if row is None:
        raise Problem(404, NO_CLIENT)
    return row


@api.route("GET", "/v1/clients/{client_id}", summary="Eén koppeling", response=ClientOut, tags=TAGS, auth=True)
async def get_client(request: web.Request) -> web.Response:
    await require(request, "admin")
    client_id = path_uuid(request, "client_id", NO_CLIENT)
    async with request.app[DB].acquire(timeout=10) as conn:
        row = await _existing(conn, client_id)
    return json_response(ClientOut(**store.client_out(row)))


@api.route("POST", "/v1/clients/{client_id}/rotate",
           summary="Nieuw geheim (of nieuwe publieke sleutel); het oude werkt nog keep_old_minutes (standaard 60)",
           body=RotateIn, response=ClientWithSecret, tags=TAGS, auth=True, statuses=(409,))
async def rotate(request: web.Request) -> web.Response:
    principal = await require(request, "admin")
    client_id = path_uuid(request, "client_id", NO_CLIENT)
    body = await read_body(request, RotateIn)
    keep = timedelta(minutes=settings_of(request).client_rotation_overlap_minutes if body.keep_old_minutes is None
                     else body.keep_old_minutes)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        row = await _existing(conn, client_id, lock=True)
        if row["revoked_at"] is not None:
            raise Problem(409, "Deze koppeling is ingetrokken; registreer een nieuwe.", code="client-revoked")
        jwk = _key(body) if row["auth_method"] == "private_key_jwt" else None
        secret = new_secret() if jwk is None else None
        new = await store.add_credential(conn, client_id, secret_hash=secret_hash(request, secret) if secret else None,
                                         public_jwk=jwk)
        await store.end_credentials(conn, client_id, keep, keep=new)
        await store.log(conn, client_id, "rotated", f"oude {'sleutel' if jwk else 'geheim'} werkt nog "
                        f"{int(keep.total_seconds() // 60)} minuten", by=principal.account_id)
        row = await store.load_client(conn, client_id)
    log.info("machine client rotated", extra=log_fields(client_id=str(client_id), client_name=row["name"]))
    return json_response(ClientWithSecret(**store.client_out(row), client_secret=secret),
                         headers={"Cache-Control": "no-store"})


@api.route("POST", "/v1/clients/{client_id}/revoke",
           summary="Intrekken: geen nieuwe tokens meer, en de diensten weigeren de uitgegeven tokens binnen seconden",
           response=ClientOut, tags=TAGS, auth=True)
async def revoke(request: web.Request) -> web.Response:
    principal = await require(request, "admin")
    client_id = path_uuid(request, "client_id", NO_CLIENT)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        row = await _existing(conn, client_id, lock=True)
        revoked_at = await store.revoke(conn, client_id, principal.account_id)
        if revoked_at is not None:  # revoking twice changes nothing
            await store.log(conn, client_id, "revoked", by=principal.account_id)
            await request.app[OUTBOX].add(conn, ClientRevoked(
                client_id=client_id, institution_id=row["institution_id"], revoked_at=revoked_at),
                subject=str(client_id))
        row = await store.load_client(conn, client_id)
    log.info("machine client revoked", extra=log_fields(client_id=str(client_id), client_name=row["name"]))
    return json_response(ClientOut(**store.client_out(row)))


@api.route("GET", "/v1/clients/{client_id}/log",
           summary="Logboek van een koppeling: geregistreerd, elk token (uitgegeven of geweigerd), vernieuwd, ingetrokken",
           response=ClientLog, tags=TAGS, auth=True)
async def client_log(request: web.Request) -> web.Response:
    await require(request, "admin")
    client_id = path_uuid(request, "client_id", NO_CLIENT)
    async with request.app[DB].acquire(timeout=10) as conn:
        row = await _existing(conn, client_id)
        entries = await store.log_entries(conn, client_id, 200)
    return json_response(ClientLog(client_id=client_id, name=row["name"], entries=[
        LogEntry(at=e["at"].isoformat(), event=e["event"], detail=e["detail"], by=e["by_name"]) for e in entries]))
