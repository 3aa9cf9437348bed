"""What identity's handlers share: the Api they register on, typed app keys, small helpers."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.identity.domain.tokens import hash_token, new_token
from services.identity.hasher import PasswordHasher
from services.identity.settings import IdentitySettings
from services.identity.signing import KeyRing
from services.identity.vault import Vault
from shared.api import Api
from shared.app import SETTINGS

api = Api(title="Doorstroom identity")

HASHER = web.AppKey("password_hasher", PasswordHasher)
VAULT = web.AppKey("vault", Vault)
KEYRING = web.AppKey("keyring", KeyRing)


class Detail(BaseModel):
    detail: str


class SearchIn(BaseModel):
    """A search in a body (a name never goes into a URL, nor a log of one): words and a page."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    q: str | None = Field(None, max_length=100, description="every word must occur (case does not matter)")
    page: int = Field(1, ge=1, le=100_000, strict=True)
    page_size: int = Field(50, ge=1, le=200, strict=True)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def word_conditions(text_sql: str, q: str | None, args: list) -> list[str]:
    """SQL conditions that every word of ``q`` occurs in ``text_sql`` (lower case); appends the words to ``args``."""
    conditions = []
    for word in (q or "").lower().split():
        args.append(word)
        conditions.append(f"strpos(lower({text_sql}), ${len(args)}) > 0")
    return conditions


def settings_of(request: web.Request) -> IdentitySettings:
    settings = request.app[SETTINGS]
    assert isinstance(settings, IdentitySettings)
    return settings


def client_ip(request: web.Request) -> str:
    """The caller's address; behind ``trusted_proxies`` proxies, taken from X-Forwarded-For."""
    hops = settings_of(request).trusted_proxies
    if hops:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote or "unknown"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def now() -> datetime:
    return datetime.now(UTC)


async def issue_email_token(conn, *, purpose: str, email: str, ttl: timedelta, account_id=None,
                            bsn_ciphertext: bytes | None = None, bsn_hmac: bytes | None = None,
                            token_id: uuid.UUID | None = None) -> tuple[str, datetime]:
    """A single-use link token (only its hash is stored); returns (token, expires_at)."""
    token = new_token()
    expires_at = now() + ttl
    await conn.execute(
        """INSERT INTO email_tokens (id, purpose, token_hash, account_id, email, bsn_ciphertext, bsn_hmac, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        token_id or uuid.uuid4(), purpose, hash_token(token), account_id, email, bsn_ciphertext, bsn_hmac, expires_at)
    return token, expires_at


async def mail_allowed(conn, vault: Vault, kind: str, email: str, interval_seconds: float) -> bool:
    """At most one mail of ``kind`` per address per interval (no mail bombing through our forms)."""
    if interval_seconds <= 0:
        return True
    key = vault.lookup_hash(f"{kind}:{email}", purpose="mail-guard")
    return bool(await conn.fetchval(
        """INSERT INTO mail_guard AS g (key, sent_at) VALUES ($1, now())
           ON CONFLICT (key) DO UPDATE SET sent_at = now()
               WHERE g.sent_at < now() - make_interval(secs => $2)
           RETURNING true""", key, interval_seconds))


def path_uuid(request: web.Request, name: str, missing: str) -> uuid.UUID:
    """A uuid from the path; anything else is simply not found."""
    from shared.problems import Problem

    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise Problem(404, missing) from None
