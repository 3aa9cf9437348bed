"""The OAuth 2.0 token endpoint for machine clients (RFC 6749 §4.4, client credentials).

``POST /oauth/token``, form-encoded, ``grant_type=client_credentials`` and optionally ``scope``
(a subset of the client's scopes). The client authenticates with one of:

- ``client_secret_basic``: ``Authorization: Basic base64(urlencode(client_id):urlencode(secret))``;
- ``client_secret_post``: ``client_id`` and ``client_secret`` in the form;
- ``private_key_jwt`` (RFC 7523): ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``
  and ``client_assertion``, a JWT signed with the client's key, with iss = sub = client_id, aud =
  this endpoint's URL, exp (at most 10 minutes ahead) and a jti that is never used twice.

The answer (§5.1): ``{"access_token", "token_type": "Bearer", "expires_in", "scope"}``; the token is
the same Ed25519 JWT every service verifies (JWKS), for the principal role ``client`` with
``client_id``, ``institution_id``, ``scope`` and the client's ``name``. Errors (§5.2) are OAuth JSON
``{"error", "error_description"}``: ``invalid_request`` and ``unsupported_grant_type`` and
``invalid_scope`` 400, ``invalid_client`` 401 with ``WWW-Authenticate``. Failed authentications
are throttled per client and per address like logins (``store/throttle.py``); every token issued
or refused is in the client's log (``GET /v1/clients/{id}/log``)."""
from __future__ import annotations

import base64
import binascii
import hmac
import logging
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qsl, unquote_plus

from aiohttp import web
from pydantic import BaseModel, Field

from services.identity.context import KEYRING, VAULT, api, client_ip, settings_of
from services.identity.domain.clients import (ASSERTION_TYPE, ClientError, granted_scopes, parse_scope,
                                              unverified_client_id, verify_assertion)
from services.identity.routes.clients import secret_hash
from services.identity.routes.sessions import login_limits
from services.identity.store import clients as store
from services.identity.store import throttle
from shared.api import json_response
from shared.app import DB
from shared.auth import Principal
from shared.logs import log_fields
from services.identity.schemas import single_line
from shared.text import SingleLine, single_line_problem

log = logging.getLogger(__name__)
FORM = "application/x-www-form-urlencoded"
PARAMETERS = ("grant_type", "scope", "client_id", "client_secret", "client_assertion_type", "client_assertion")


class TokenForm(BaseModel):
    """The form's fields (documentation; the handler reads the form itself, ``_form``)."""
    grant_type: SingleLine = Field(description="client_credentials", max_length=100)
    scope: single_line(max_length=200) | None = Field(
        None, description="space-separated, a subset of the client's scopes (default: all)")
    client_id: single_line(max_length=100) | None = None
    client_secret: single_line(max_length=200) | None = Field(None, description="client_secret_post")
    client_assertion_type: single_line(max_length=200) | None = Field(None, description=ASSERTION_TYPE)
    client_assertion: single_line(max_length=8000) | None = Field(None, description="private_key_jwt (RFC 7523)")


class TokenAnswer(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    error: str = Field(description="invalid_request, invalid_client, invalid_scope, unsupported_grant_type")
    error_description: str | None = None


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
OAUTH_ERRORS = {status: {"description": description, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/OAuthError"}}}}
    for status, description in ((400, "invalid_request, unsupported_grant_type or invalid_scope (RFC 6749 §5.2)"),
                                (401, "invalid_client (RFC 6749 §5.2), with WWW-Authenticate"))}


def oauth_error(error: str, description: str) -> web.Response:
    status = 401 if error == "invalid_client" else 400
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="doorstroom", error="invalid_client"'
    return json_response({"error": error, "error_description": description}, status=status, headers=headers)


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_type != FORM:
        raise ClientError("invalid_request", f"send the request as {FORM}")
    raw = await request.read()
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise ClientError("invalid_request", "the body is not a valid form") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key not in PARAMETERS:
            continue  # unknown parameters are ignored (RFC 6749 §3.2)
        if key in form:
            raise ClientError("invalid_request", f"parameter {key} given more than once")
        if single_line_problem(value) is not None or len(value) > 8000:
            raise ClientError("invalid_request", f"parameter {key} is not valid")
        if value:
            form[key] = value
    return form


def _credentials(request: web.Request, form: dict[str, str]) -> tuple[str, str, str]:
    """(method, client_id, secret or assertion) of the one way the client authenticates."""
    ways = []
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, sep, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ClientError("invalid_client", "the Basic credentials are not valid") from None
        if not sep:
            raise ClientError("invalid_client", "the Basic credentials are not valid")
        ways.append(("client_secret_basic", unquote_plus(client_id), unquote_plus(secret)))
    if "client_secret" in form:
        ways.append(("client_secret_post", form.get("client_id", ""), form["client_secret"]))
    if "client_assertion" in form or "client_assertion_type" in form:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise ClientError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        if "client_assertion" not in form:
            raise ClientError("invalid_request", "client_assertion is missing")
        sub = unverified_client_id(form["client_assertion"])
        if form.get("client_id", sub) != sub:
            raise ClientError("invalid_client", "client_id and the assertion's sub differ")
        ways.append(("private_key_jwt", sub, form["client_assertion"]))
    if len(ways) > 1:
        raise ClientError("invalid_request", "use exactly one way of client authentication")
    if not ways:
        raise ClientError("invalid_client", "client authentication is missing")
    return ways[0]


@api.route("POST", "/oauth/token", summary="OAuth 2.0-token voor een koppeling (client credentials; client_secret_basic, "
           "client_secret_post of private_key_jwt)", body=TokenForm, consumes=FORM, response=TokenAnswer,
           tags=("koppelingen",), statuses=(401,), error_content=OAUTH_ERRORS,
           extra_schemas=(OAuthError,), description=(
               "RFC 6749 §4.4. Form-encoded: grant_type=client_credentials, optional scope (a subset of the "
               "client's: dossiers:read, dossiers:handle). Client authentication: HTTP Basic (client_secret_basic), "
               "client_id + client_secret in the form (client_secret_post), or client_assertion_type="
               "urn:ietf:params:oauth:client-assertion-type:jwt-bearer + client_assertion (private_key_jwt, RFC 7523: "
               "iss = sub = client_id, aud = this URL, exp at most 600 s ahead, a jti used once). The access token "
               "(Bearer, expires_in 600) is verified by every service with /.well-known/jwks.json; its claims: "
               "sub = client_id = the client's id, role client, institution_id, scope, name. Errors are OAuth JSON: "
               "invalid_request, unsupported_grant_type, invalid_scope (400), invalid_client (401, WWW-Authenticate). "
               "Failed authentications are throttled per client and per address."))
async def token(request: web.Request) -> web.Response:
    try:
        form = await _form(request)
        grant = form.get("grant_type")
        if grant is None:
            raise ClientError("invalid_request", "grant_type is missing")
        if grant != "client_credentials":
            raise ClientError("unsupported_grant_type", "only client_credentials is supported")
        method, client_text, proof = _credentials(request, form)
        requested = parse_scope(form.get("scope"))
    except ClientError as err:
        return oauth_error(err.error, err.description)
    return await _issue(request, method, client_text, proof, requested)


async def _issue(request: web.Request, method: str, client_text: str, proof: str,
                 requested: list[str] | None) -> web.Response:
    settings, vault = settings_of(request), request.app[VAULT]
    try:
        client_id = uuid.UUID(client_text)
    except ValueError:
        client_id = None
    client_limits, ip_limits = login_limits(settings)
    client_key = vault.lookup_hash(client_text, purpose="client-auth")
    ip_key = vault.lookup_hash(client_ip(request), purpose="client-auth-ip")
    refused = "client authentication failed"
    async with request.app[DB].acquire(timeout=10) as conn:
        # the try is counted (and committed) before the check, as a login's: parallel tries count one by one
        if not await throttle.reserve(conn, [("client-auth", client_key, client_limits),
                                             ("client-auth-ip", ip_key, ip_limits)]):
            return oauth_error("invalid_client", refused)
        async with conn.transaction():
            return await _check_and_issue(request, conn, method, client_id, client_text, proof, requested,
                                          (client_key, client_limits, ip_key, ip_limits))


async def _check_and_issue(request: web.Request, conn, method: str, client_id: uuid.UUID | None, client_text: str,
                           proof: str, requested: list[str] | None, counters: tuple) -> web.Response:
    """In one transaction: the client's proof checked, the counted try settled, a token issued."""
    client_key, client_limits, ip_key, ip_limits = counters
    refused = "client authentication failed"
    if client_id:
        # a revocation (FOR UPDATE) waits for this token, or this token for the revocation: a token is
        # never made after revoked_at by a transaction that read the client as live
        await conn.execute("SELECT 1 FROM machine_clients WHERE id = $1 FOR SHARE", client_id)
    row = await store.load_client(conn, client_id) if client_id else None
    ok = False
    if row is not None and row["revoked_at"] is None:
        credentials = await store.live_credentials(conn, client_id)
        if method == "private_key_jwt":
            jwks = [c["public_jwk"] for c in credentials if c["public_jwk"]]
            try:
                assertion = verify_assertion(proof, client_id=client_text, jwks=jwks, audiences=_audiences(request))
                ok = await store.remember_assertion(conn, client_id, assertion.jti,
                                                    datetime.fromtimestamp(assertion.expires_at, UTC))
                if not ok:
                    refused = "client_assertion was used before (jti)"
            except ClientError as err:
                refused = err.description
        else:
            given = secret_hash(request, proof)
            ok = any(c["secret_hash"] and hmac.compare_digest(bytes(c["secret_hash"]), given) for c in credentials)
    if not ok:
        await throttle.failed(conn, "client-auth", client_key, client_limits)
        await throttle.failed(conn, "client-auth-ip", ip_key, ip_limits)
        if row is not None:
            await store.log(conn, client_id, "token_refused", f"{method}: {refused}")
        log.info("client authentication refused", extra=log_fields(
            method=method, client_id=str(client_id) if row is not None else None))
        return oauth_error("invalid_client", refused)
    await throttle.reset(conn, "client-auth", client_key)
    await throttle.release(conn, "client-auth-ip", ip_key)
    try:
        scopes = granted_scopes(requested, list(row["scopes"]))
    except ClientError as err:
        await store.log(conn, client_id, "token_refused", f"{method}: {err.description}")
        return oauth_error(err.error, err.description)
    principal = Principal(account_id=client_id, role="client", session_id=f"client:{client_id}", name=row["name"],
                          institution_id=row["institution_id"], client_id=str(client_id), scope=" ".join(scopes))
    ring = request.app[KEYRING]
    await ring.refresh_if_stale(conn)
    ttl = settings_of(request).client_token_ttl_seconds
    access_token = ring.sign(principal, ttl)
    await conn.execute("UPDATE machine_clients SET last_token_at = now() WHERE id = $1", client_id)
    await store.log(conn, client_id, "token_issued", f"{method}; scope {' '.join(scopes)}")
    log.info("client token issued", extra=log_fields(client_id=str(client_id), client_name=row["name"],
                                                     method=method, scope=" ".join(scopes)))
    return json_response(TokenAnswer(access_token=access_token, expires_in=ttl, scope=" ".join(scopes)),
                         headers=NO_STORE)


def _audiences(request: web.Request) -> list[str]:
    """What a client assertion's aud may be: this endpoint's URL as configured (OAUTH_TOKEN_URL, the
    address clients use behind a proxy) and as this request reached it."""
    settings = settings_of(request)
    here = str(request.url.with_query(None))
    return [u for u in (settings.oauth_token_url, here) if u]
