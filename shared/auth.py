"""Who is calling: access tokens signed by identity (Ed25519), verified by every service with the
public keys identity serves at /.well-known/jwks.json.

Identity signs with ``TokenSigner``; the other services check with ``TokenVerifier`` and ask
``require(request, "mentor", "counsellor")`` in their handlers. The roles and their Dutch names
follow DESIGN.md.
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import aiohttp
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict

from shared.problems import Problem

if TYPE_CHECKING:
    from shared.revocations import Revocations

Role = Literal["student", "parent", "mentor", "counsellor", "school_admin", "mbo_staff", "admin", "client"]
ROLE_LABELS: dict[str, str] = {
    "student": "leerling", "parent": "ouder/verzorger", "mentor": "mentor", "counsellor": "decaan",
    "school_admin": "schoolbeheerder", "mbo_staff": "medewerker ontvangende school", "admin": "beheerder",
    "client": "koppeling (studentadministratie)"}
# what a machine client (role "client", OAuth 2.0 client credentials) may be given
CLIENT_SCOPES = ("dossiers:read", "dossiers:handle")
ISSUER = "doorstroom-identity"
AUDIENCE = "doorstroom"
ALGORITHM = "EdDSA"


class Principal(BaseModel):
    """The verified caller. ``school_id`` for VO staff and students, ``institution_id`` for MBO
    staff, ``student_id`` is the roster record a student's account is linked to (after redeeming
    an activation code), ``class_ids`` the classes linked to a mentor when the token was made
    (services that need it current follow identity.class_mentors_changed)."""

    model_config = ConfigDict(frozen=True)

    account_id: uuid.UUID
    role: Role
    session_id: str
    name: str | None = None
    school_id: uuid.UUID | None = None
    institution_id: uuid.UUID | None = None
    student_id: uuid.UUID | None = None
    staff_id: uuid.UUID | None = None
    class_ids: tuple[uuid.UUID, ...] | None = None  # a mentor's classes when the token was made
    client_id: str | None = None  # a machine client's id (role client)
    scope: str | None = None      # a machine client's scopes, space-separated

    def has_scope(self, scope: str) -> bool:
        return self.role == "client" and scope in (self.scope or "").split()


def new_private_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@dataclass
class TokenSigner:
    private_key_pem: bytes
    kid: str

    def __post_init__(self) -> None:
        self._key = serialization.load_pem_private_key(self.private_key_pem, password=None)

    def sign(self, principal: Principal, ttl_seconds: int = 900, *, issued_at: float | None = None) -> str:
        """A token for ``principal`` valid ``ttl_seconds``. ``iat`` is whole seconds (RFC 7519);
        ``iat_ms`` the same moment to the millisecond, so that a token made just after an end of
        access (identity.access_ended, ``ended_at``) in the same second is told apart from one made
        just before it. ``issued_at`` (seconds since the epoch) is for tests: a token made earlier."""
        moment = time.time() if issued_at is None else issued_at
        now = int(moment)
        claims = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "iat_ms": int(moment * 1000), "nbf": now - 5,
                  "exp": now + ttl_seconds, "sub": str(principal.account_id), "jti": uuid.uuid4().hex}
        for key, value in principal.model_dump(mode="json", exclude={"account_id"}).items():
            if value is not None:
                claims[key] = value
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def public_jwk(self) -> dict:
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": ALGORITHM})
        return jwk


def jwks(*signers: TokenSigner) -> dict:
    return {"keys": [s.public_jwk() for s in signers]}


class TokenVerifier:
    """Verifies bearer tokens with keys from a JWKS URL (cached; refetched for an unknown kid,
    at most every ``min_refresh`` seconds) or with keys given directly.

    A verified token is remembered (the exact token text, up to ``cache_size`` of them, least
    recently used dropped first) until it expires: a signature check costs more than the rest of a
    typical request, and a client sends the same token for many requests.

    ``revocations`` (set by ``shared.revocations.honour_access_ended``): the ends of access this
    process knows of (logouts, password changes, deactivated accounts). Every request is checked
    against them, a remembered token too, so a token is refused from the moment its end is known,
    however long it was remembered."""

    def __init__(self, jwks_url: str | None = None, *, keys: dict | None = None,
                 min_refresh: float = 10.0, cache_size: int = 10_000) -> None:
        self.jwks_url, self.min_refresh, self.cache_size = jwks_url, min_refresh, cache_size
        self.revocations: Revocations | None = None
        self._verified: OrderedDict[str, tuple[Principal, float, float]] = OrderedDict()  # principal, exp, issued
        self._keys: dict[str, object] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        if keys:
            self._load(keys)

    def _load(self, doc: dict) -> None:
        self._keys = {k["kid"]: jwt.PyJWK(k).key for k in doc.get("keys", []) if "kid" in k}

    async def _refresh(self) -> None:
        if not self.jwks_url:
            return
        async with self._lock:
            if time.monotonic() - self._fetched_at < self.min_refresh:
                return
            self._fetched_at = time.monotonic()
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
                async with http.get(self.jwks_url) as r:
                    r.raise_for_status()
                    self._load(await r.json())

    async def verify(self, token: str) -> Principal:
        hit = self._verified.get(token)
        if hit is not None:
            if hit[1] > time.time():
                self._check_not_ended(token, hit[0], hit[2])
                self._verified.move_to_end(token)
                return hit[0]
            del self._verified[token]  # expired: the full check below says so
        principal, expires, issued = await self._verify(token)
        self._check_not_ended(token, principal, issued)
        self._verified[token] = (principal, expires, issued)
        if len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)
        return principal

    def _check_not_ended(self, token: str, principal: Principal, issued_at: float) -> None:
        """401 when the token's session or account ended after it was issued (identity.access_ended)."""
        if self.revocations is not None and self.revocations.covers(principal, issued_at):
            self._verified.pop(token, None)
            raise Problem(401, ACCESS_ENDED, code="access-ended",
                          headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    async def _verify(self, token: str) -> tuple[Principal, float, float]:
        """The token's caller, expiry and moment of issue; a problem when it is not valid."""
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
        except jwt.PyJWTError:
            raise Problem(401, "Je bent niet (meer) ingelogd. Log opnieuw in.", code="invalid-token") from None
        if kid not in self._keys:
            try:
                await self._refresh()
            except Exception:
                raise Problem(503, "Inloggen kan nu even niet worden gecontroleerd. Probeer het zo opnieuw.") from None
        key = self._keys.get(kid)
        if key is None:
            raise Problem(401, "Je bent niet (meer) ingelogd. Log opnieuw in.", code="invalid-token")
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Problem(401, "Je sessie is verlopen. Log opnieuw in.", code="token-expired") from None
        except jwt.PyJWTError:
            raise Problem(401, "Je bent niet (meer) ingelogd. Log opnieuw in.", code="invalid-token") from None
        claims["account_id"] = claims.pop("sub")
        principal = Principal.model_validate({k: v for k, v in claims.items() if k in Principal.model_fields})
        return principal, float(claims["exp"]), _issued_at(claims)


def _issued_at(claims: dict) -> float:
    """When the token was made: ``iat_ms`` when it agrees with ``iat`` (same second), else ``iat``
    (a token of an older signer: whole seconds, so a token made in the second an access ended
    counts as made before that end, the safe side)."""
    iat = float(claims["iat"])
    precise = claims.get("iat_ms")
    if isinstance(precise, int) and not isinstance(precise, bool) and 0 <= precise / 1000 - iat < 1:
        return precise / 1000
    return iat


ACCESS_ENDED = "Je bent uitgelogd. Log opnieuw in."
VERIFIER = web.AppKey("token_verifier", TokenVerifier)
PRINCIPAL_KEY = web.RequestKey("principal", Principal)
AUTH_PROBLEM_KEY = web.RequestKey("auth_problem", Problem)


async def authenticate(request: web.Request) -> Principal:
    """The caller of this request, from ``Authorization: Bearer <token>``; 401 otherwise."""
    cached = request.get(PRINCIPAL_KEY)
    if cached is not None:
        return cached
    failed = request.get(AUTH_PROBLEM_KEY)
    if failed is not None:
        raise failed
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "Log in om dit te bekijken.", code="not-authenticated",
                      headers={"WWW-Authenticate": "Bearer"})
    principal = await request.app[VERIFIER].verify(token.strip())
    request[PRINCIPAL_KEY] = principal
    return principal


@web.middleware
async def eager_authentication(request: web.Request, handler):
    """Verify a bearer token before the handler runs, for a service whose verifier needs resources
    its handlers also hold. Identity checks the session in its database: verified inside a handler
    that already holds a pooled connection, it would take a second one, and under load every
    connection would wait for another (the pool deadlocks until its timeout). The outcome, a caller
    or a problem, is kept for ``authenticate``; endpoints that do not ask for a caller ignore it."""
    if request.headers.get("Authorization"):
        try:
            await authenticate(request)
        except Problem as problem:
            request[AUTH_PROBLEM_KEY] = problem
    return await handler(request)


async def require(request: web.Request, *roles: str) -> Principal:
    """The caller, who must have one of ``roles`` (any person's role when none are given: a machine
    client only where ``client`` is named); 403 otherwise."""
    principal = await authenticate(request)
    if (roles and principal.role not in roles) or (not roles and principal.role == "client"):
        allowed = ", ".join(ROLE_LABELS.get(r, r) for r in roles) if roles else "persoon die is ingelogd"
        raise Problem(403, f"Dit mag alleen een {allowed}.", code="forbidden-role")
    return principal


async def require_scope(request: web.Request, scope: str) -> Principal:
    """A machine client (role ``client``) whose token grants ``scope``; 403 otherwise (a person, or
    a client without that scope: ``insufficient_scope``, RFC 6750 §3.1)."""
    principal = await require(request, "client")
    if not principal.has_scope(scope):
        raise Problem(403, f"Deze koppeling heeft geen toestemming '{scope}'.", code="insufficient-scope",
                      headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
    return principal
