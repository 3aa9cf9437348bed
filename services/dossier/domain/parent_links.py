"""Signed, expiring links for parents (who have no account).

A token is ``<payload>.<mac>``, both base64url without padding: the payload holds the link id (16
bytes) and its expiry (8 bytes, Unix seconds); the mac is HMAC-SHA256 over a purpose prefix and
the payload with the service's secret. The link id points to a row the service keeps, so a link
can also be revoked (a new round, a new link) before it expires. Pure logic, no I/O.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

_PURPOSE = b"doorstroom.parent-link.v1:"


class InvalidLink(Exception):
    """Not a token we made (malformed or tampered)."""


class ExpiredLink(Exception):
    """A genuine token whose time has passed."""


@dataclass(frozen=True)
class ParentLink:
    link_id: uuid.UUID
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or len(text) > 200:
        raise InvalidLink("bad length")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise InvalidLink("bad base64") from None


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, _PURPOSE + payload, hashlib.sha256).digest()


def sign(secret: bytes, link_id: uuid.UUID, expires_at: datetime) -> str:
    payload = link_id.bytes + int(expires_at.timestamp()).to_bytes(8, "big")
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def verify(secret: bytes, token: str, now: datetime | None = None) -> ParentLink:
    """The link a token stands for; InvalidLink when it is not ours, ExpiredLink when too old."""
    if not isinstance(token, str) or token.count(".") != 1:
        raise InvalidLink("bad shape")
    head, tail = token.split(".")
    payload, mac = _unb64(head), _unb64(tail)
    if len(payload) != 24 or not hmac.compare_digest(mac, _mac(secret, payload)):
        raise InvalidLink("bad signature")
    link = ParentLink(uuid.UUID(bytes=payload[:16]),
                      datetime.fromtimestamp(int.from_bytes(payload[16:], "big"), UTC))
    if (now or datetime.now(UTC)) >= link.expires_at:
        raise ExpiredLink("expired")
    return link
