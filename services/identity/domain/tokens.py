"""Opaque bearer tokens (sessions, e-mail links): random, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32  # 256 bits of randomness


def new_token() -> str:
    """A fresh URL-safe token with 256 bits of entropy (43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """SHA-256 hex digest of the token: what the database keeps and looks up.

    A plain hash suffices because the token itself is high-entropy random data.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
