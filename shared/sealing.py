"""Sealed secrets: the links and codes that let their holder act (a verification, reset, invitation
or parent link, an activation code) never rest in clear outside the service that made them.

An event field of type ``Sealed`` travels, and so rests in every outbox, queue, the archive stream,
parked messages and a consumer's tables, as

    sealed:v1:<key id>:<base64url(nonce ‖ AES-256-GCM ciphertext ‖ tag)>

Producers pass plain strings (``VerificationRequested(verify_url="https://...")``); the value is
sealed when the payload is serialised to JSON, with the process keyring. A consumer that needs the
clear value calls ``.reveal()``; one that does not (a consumer storing it for later) keeps the
sealed text (``.sealed()``). Outside subscribers of the exchange hold no key: they see that a link
or code was sent, never the link or code.

The keyring is the current key (``EVENT_SEAL_KEY``, base64 of 32 bytes: seals and opens) and former
keys (``EVENT_SEAL_OLD_KEYS``, comma-separated: open only), so keys can rotate. Each key has an id
(the first 4 bytes of a hash of the key) written beside every ciphertext. Every use has its own
AES key derived from the key with HKDF-SHA256 (``purpose``), so a value sealed for one use cannot
be opened as another. The same keyring seals the few secrets services keep at rest (the document
service's files and letters, the dossier service's parent-link key): ``seal_bytes``/``open_bytes``.

Outside ``ENVIRONMENT=production`` a PUBLIC development key is used when none is set (like
identity's BSN keys): values sealed with it are not protected at all.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import os
import re
from typing import Any, Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

log = logging.getLogger(__name__)

__all__ = ["Sealed", "Keyring", "SealError", "keyring", "install", "using", "keyring_from", "reveal_all",
           "is_sealed", "sealed_fields", "DEV_EVENT_SEAL_KEY", "PREFIX", "SCRUBBED", "EVENT_FIELD"]

# Development only: used when EVENT_SEAL_KEY is not set and ENVIRONMENT is not production. It is
# public (it is in this file), so what is sealed with it is not protected at all.
DEV_EVENT_SEAL_KEY = base64.b64encode(b"doorstroom-DEV-ONLY-event-seal-k").decode()

PREFIX = "sealed:v1:"
SCRUBBED = "sealed:scrubbed"  # what a published outbox row keeps of a sealed value
EVENT_FIELD = "event-field"   # the purpose of sealed event fields
KEY_BYTES = 32
NONCE_BYTES = 12
BYTES_MAGIC = b"DSL1"         # first bytes of every sealed binary value
_TEXT = re.compile(r"^sealed:v1:([0-9a-f]{8}):([A-Za-z0-9_-]{38,})$")
JSON_PATTERN = r"^sealed:(v1:[0-9a-f]{8}:[A-Za-z0-9_-]+|scrubbed)$"


class SealError(Exception):
    """A sealed value that cannot be opened: made with a key this process does not have, altered,
    scrubbed, or no key configured where one is required."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"doorstroom.seal.key-id\x00" + key).hexdigest()[:8]


def decode_key(name: str, value: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{name} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"{name} must decode to {KEY_BYTES} bytes, not {len(raw)}")
    return raw


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Keyring:
    """The current key (seals) and former keys (open only), each with its id."""

    def __init__(self, current: bytes, previous: Iterable[bytes] = ()) -> None:
        keys = [*previous, current]
        if any(len(k) != KEY_BYTES for k in keys):
            raise ValueError(f"a seal key has {KEY_BYTES} bytes")
        self.current_id = key_id(current)
        self._keys = {key_id(k): k for k in keys}
        self._derived: dict[tuple[str, str], bytes] = {}

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def _key(self, kid: str, purpose: str) -> bytes:
        try:
            return self._derived[(kid, purpose)]
        except KeyError:
            pass
        try:
            master = self._keys[kid]
        except KeyError:
            raise SealError(f"sealed with key {kid}, which this process does not have "
                            "(EVENT_SEAL_KEY / EVENT_SEAL_OLD_KEYS)") from None
        derived = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                       info=b"doorstroom.seal.v1:" + purpose.encode()).derive(master)
        self._derived[(kid, purpose)] = derived
        return derived

    # -- text (event fields) ----------------------------------------------------------------------

    def seal(self, clear: str, purpose: str = EVENT_FIELD) -> str:
        kid = self.current_id
        nonce = os.urandom(NONCE_BYTES)
        body = AESGCM(self._key(kid, purpose)).encrypt(nonce, clear.encode("utf-8"), _aad(kid, purpose))
        return f"{PREFIX}{kid}:{_b64(nonce + body)}"

    def open(self, text: str, purpose: str = EVENT_FIELD) -> str:
        if text == SCRUBBED:
            raise SealError("this value was scrubbed after the event was published")
        match = _TEXT.match(text)
        if not match:
            raise SealError("not a sealed value")
        kid, blob = match.group(1), _unb64(match.group(2))
        try:
            clear = AESGCM(self._key(kid, purpose)).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(kid, purpose))
        except InvalidTag:
            raise SealError("sealed value altered, or sealed for another purpose") from None
        return clear.decode("utf-8")

    # -- bytes (secrets at rest) ------------------------------------------------------------------

    def seal_bytes(self, clear: bytes, purpose: str) -> bytes:
        kid = self.current_id
        nonce = os.urandom(NONCE_BYTES)
        return BYTES_MAGIC + bytes.fromhex(kid) + nonce + AESGCM(self._key(kid, purpose)).encrypt(
            nonce, clear, _aad(kid, purpose))

    def open_bytes(self, blob: bytes, purpose: str) -> bytes:
        if not is_sealed_bytes(blob):
            raise SealError("not a sealed value")
        kid = blob[4:8].hex()
        nonce, body = blob[8:8 + NONCE_BYTES], blob[8 + NONCE_BYTES:]
        try:
            return AESGCM(self._key(kid, purpose)).decrypt(nonce, body, _aad(kid, purpose))
        except InvalidTag:
            raise SealError("sealed value altered, or sealed for another purpose") from None

    def sealed_with_current(self, value: str | bytes) -> bool:
        """Was this value sealed with the current key (no re-sealing needed after a rotation)?"""
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value[4:8]).hex() == self.current_id
        match = _TEXT.match(value)
        return bool(match) and match.group(1) == self.current_id

    def mac(self, data: bytes, purpose: str) -> str:
        """A keyed hash (HMAC-SHA256 with a key derived for ``purpose``): a look-up or content key
        that cannot be recomputed, or brute-forced, from a dump."""
        return hmac.new(self._key(self.current_id, purpose), data, hashlib.sha256).hexdigest()


def _aad(kid: str, purpose: str) -> bytes:
    return f"{PREFIX}{kid}:{purpose}".encode()


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith(PREFIX) or value == SCRUBBED)


def is_sealed_bytes(value: bytes | bytearray | memoryview) -> bool:
    return len(value) >= 8 + NONCE_BYTES + 16 and bytes(value[:4]) == BYTES_MAGIC


# -- the process keyring --------------------------------------------------------------------------

_installed: Keyring | None = None


def keyring_from(settings: Any) -> Keyring:
    """The keyring of a settings object with ``environment``, ``event_seal_key`` and
    ``event_seal_old_keys`` (every service's settings)."""
    configured = settings.event_seal_key
    if configured is None:
        if getattr(settings, "environment", "development") == "production":
            raise SealError("EVENT_SEAL_KEY must be set when ENVIRONMENT=production")
        current = decode_key("EVENT_SEAL_KEY", DEV_EVENT_SEAL_KEY)
    else:
        current = decode_key("EVENT_SEAL_KEY", configured.get_secret_value())
    old = settings.event_seal_old_keys.get_secret_value() if settings.event_seal_old_keys else ""
    previous = [decode_key("EVENT_SEAL_OLD_KEYS", part) for part in old.split(",") if part.strip()]
    return Keyring(current, previous)


def keyring() -> Keyring:
    """The keyring of this process: installed by ``install``/``using``, otherwise read once from the
    environment (the same variables every service's settings read)."""
    global _installed
    if _installed is None:
        from shared.settings import ServiceSettings

        settings = ServiceSettings()
        _installed = keyring_from(settings)
        if settings.event_seal_key is None:
            log.warning("EVENT_SEAL_KEY not set: sealing with the PUBLIC development key (never in production)")
    return _installed


def install(ring: Keyring | None) -> None:
    """Use this keyring from now on (None: read the environment again on next use)."""
    global _installed
    _installed = ring


@contextlib.contextmanager
def using(ring: Keyring) -> Iterator[Keyring]:
    """For tests and operator commands: this keyring inside the block."""
    global _installed
    before = _installed
    _installed = ring
    try:
        yield ring
    finally:
        _installed = before


# -- the pydantic type ----------------------------------------------------------------------------


SEALED_DESCRIPTION = (
    "Sealed: AES-256-GCM under a key only Doorstroom's own services hold, as "
    "`sealed:v1:<key id>:<base64url(nonce, ciphertext, tag)>`. Outside subscribers get no secrets: they learn "
    "that the link or code was sent, not what it is.")


class Sealed:
    """A secret event field: a clear value on the producer's side, sealed text on the wire and at
    rest. ``reveal()`` gives the clear value (with the process keyring); ``sealed()`` the text.

    ``repr`` and ``str`` never show the value. Two values are equal when their clear values are
    (both known) or their sealed texts are."""

    __slots__ = ("_clear", "_text")

    def __init__(self, clear: str | None = None, *, text: str | None = None) -> None:
        if (clear is None) == (text is None):
            raise ValueError("a Sealed holds either a clear value or a sealed text")
        self._clear, self._text = clear, text

    @classmethod
    def of(cls, value: "str | Sealed") -> "Sealed":
        if isinstance(value, Sealed):
            return value
        if not isinstance(value, str):
            raise ValueError("expected a string")
        if value.startswith("sealed:"):
            if value != SCRUBBED and not _TEXT.match(value):
                raise ValueError("not a valid sealed value")
            return cls(text=value)
        return cls(clear=value)  # a producer's value, or an event published before sealing

    def reveal(self) -> str:
        if self._clear is not None:
            return self._clear
        return keyring().open(self._text)  # type: ignore[arg-type]

    def sealed(self) -> str:
        if self._text is None:
            self._text = keyring().seal(self._clear)  # type: ignore[arg-type]
        return self._text

    @property
    def scrubbed(self) -> bool:
        return self._text == SCRUBBED and self._clear is None

    def _identity(self) -> tuple[str, str]:
        return ("clear", self._clear) if self._clear is not None else ("text", self._text or "")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        return "Sealed(***)"

    __str__ = __repr__

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.of, serialization=core_schema.plain_serializer_function_ser_schema(
                lambda v: v.sealed(), when_used="json"))

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string", "format": "sealed", "pattern": JSON_PATTERN, "x-sealed": True,
                "description": SEALED_DESCRIPTION}


def reveal_all(value: Any) -> Any:
    """A copy of a JSON-like value with every sealed string opened (a scrubbed one stays as it is)."""
    if isinstance(value, dict):
        return {k: reveal_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal_all(v) for v in value]
    if isinstance(value, str) and value.startswith(PREFIX):
        return keyring().open(value)
    return value


def sealed_fields(model: type, _seen: frozenset = frozenset()) -> list[str]:
    """Dotted paths of the ``Sealed`` fields of a pydantic model (nested models and lists too)."""
    import typing

    from pydantic import BaseModel

    paths: list[str] = []

    def walk(annotation: Any, path: str) -> None:
        if annotation is Sealed:
            paths.append(path)
            return
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in _seen:
            paths.extend(f"{path}.{p}" for p in sealed_fields(annotation, _seen | {model}))
            return
        for arg in typing.get_args(annotation):
            walk(arg, path + ("[]" if typing.get_origin(annotation) in (list, tuple, set) else ""))

    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        walk(info.annotation, name)
    return paths
