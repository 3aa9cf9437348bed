"""Secrets at rest: AES-GCM encryption (BSN, signing keys) and keyed hashes for look-ups.

A BSN is stored twice: encrypted (random nonce, so equal BSNs give different ciphertexts) and as
an HMAC-SHA256 with a separate key, so "does this BSN have an account" is one index look-up
without decrypting anything. Each use has its own associated data / HMAC purpose, so a value
made for one purpose cannot be passed off as another.
"""
from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
VERSION = b"\x01"  # first byte of every ciphertext: which key/format made it


class Vault:
    def __init__(self, encryption_key: bytes, hmac_key: bytes) -> None:
        self._aead = AESGCM(encryption_key)
        self._hmac_key = hmac_key

    def encrypt(self, plaintext: bytes, *, purpose: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, purpose.encode())

    def decrypt(self, blob: bytes, *, purpose: str) -> bytes:
        if blob[:1] != VERSION:
            raise ValueError("unknown ciphertext version")
        nonce, body = blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:]
        return self._aead.decrypt(nonce, body, purpose.encode())

    def lookup_hash(self, value: str, *, purpose: str) -> bytes:
        return hmac.new(self._hmac_key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()

    # --- the BSN ---------------------------------------------------------------------------

    def encrypt_bsn(self, bsn: str) -> bytes:
        return self.encrypt(bsn.encode("ascii"), purpose="bsn")

    def decrypt_bsn(self, blob: bytes) -> str:
        return self.decrypt(blob, purpose="bsn").decode("ascii")

    def bsn_hash(self, bsn: str) -> bytes:
        return self.lookup_hash(bsn, purpose="bsn")
