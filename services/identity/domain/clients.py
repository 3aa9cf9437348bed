"""Machine clients (OAuth 2.0 client credentials, RFC 6749 §4.4), pure rules: scopes, the public
keys of private_key_jwt clients and their client assertions (RFC 7523 §3). No I/O: the store keeps
the clients, ``routes/oauth_token.py`` answers the token endpoint."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from shared.auth import CLIENT_SCOPES

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_SECONDS = 600  # an assertion valid longer than this is refused (its jti is kept that long)
ALGORITHMS = {"RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), "EC": ("ES256", "ES384", "ES512"),
              "OKP": ("EdDSA",)}
SCOPE_LABELS = {"dossiers:read": "afgeronde dossiers lezen (lijst, JSON, PDF)",
                "dossiers:handle": "dossiers als afgehandeld markeren"}


class ClientError(ValueError):
    """An OAuth error (RFC 6749 §5.2): ``error`` code and a description for the developer."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


def parse_scope(text: str | None) -> list[str] | None:
    """The scopes of a ``scope`` parameter (space-separated), or None when it was not given."""
    if text is None or not text.strip():
        return None
    return list(dict.fromkeys(text.split()))


def granted_scopes(requested: list[str] | None, registered: list[str]) -> list[str]:
    """What a token gets: the registered scopes, or the requested ones when each is registered
    (RFC 6749 §3.3); ``invalid_scope`` otherwise."""
    if requested is None:
        return [s for s in CLIENT_SCOPES if s in registered]
    unknown = [s for s in requested if s not in registered]
    if unknown:
        raise ClientError("invalid_scope", f"scope not granted to this client: {' '.join(unknown)}")
    return [s for s in CLIENT_SCOPES if s in requested]


# --------------------------------------------------------------------------- public keys


def public_jwk(value: Any) -> dict[str, Any]:
    """A client's public key, given as a JWK (an object) or PEM (text), as a JWK of a public key:
    RSA of at least 2048 bits, EC (P-256, P-384, P-521) or Ed25519. ValueError with a Dutch reason."""
    if isinstance(value, dict):
        if "d" in value:
            raise ValueError("Dit is een privésleutel. Geef alleen de publieke sleutel.")
        try:
            key = jwt.PyJWK(value).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise ValueError("Dit is geen geldige publieke sleutel (JWK).") from None
    elif isinstance(value, str):
        if "PRIVATE KEY" in value:
            raise ValueError("Dit is een privésleutel. Geef alleen de publieke sleutel.")
        try:
            key = serialization.load_pem_public_key(value.strip().encode())
        except (ValueError, TypeError):
            raise ValueError("Dit is geen geldige publieke sleutel (PEM).") from None
    else:
        raise ValueError("Geef de publieke sleutel als JWK (object) of PEM (tekst).")
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ValueError("Een RSA-sleutel moet minstens 2048 bits lang zijn.")
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    elif isinstance(key, ec.EllipticCurvePublicKey):
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key))
    elif isinstance(key, ed25519.Ed25519PublicKey):
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key))
    else:
        raise ValueError("Gebruik een RSA-, EC- of Ed25519-sleutel.")
    return {k: v for k, v in jwk.items() if k in ("kty", "n", "e", "crv", "x", "y")}


@dataclass(frozen=True)
class Assertion:
    jti: str
    expires_at: float


def unverified_client_id(assertion: str) -> str:
    """The ``sub`` (= ``iss``) an assertion names, before it is checked: which client's keys to try."""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise ClientError("invalid_client", "client_assertion is not a JWT") from None
    sub = claims.get("sub")
    if not isinstance(sub, str) or claims.get("iss") != sub:
        raise ClientError("invalid_client", "client_assertion needs iss = sub = client_id")
    return sub


def verify_assertion(assertion: str, *, client_id: str, jwks: list[dict[str, Any]], audiences: list[str],
                     now: float | None = None) -> Assertion:
    """Check a client assertion (RFC 7523 §3) against the client's public keys: signed by one of
    them, iss = sub = client_id, aud one of ``audiences`` (the token endpoint), exp in the future
    and at most MAX_ASSERTION_SECONDS ahead, a jti. The caller checks that the jti is new."""
    now = time.time() if now is None else now
    try:
        alg = jwt.get_unverified_header(assertion).get("alg")
    except jwt.PyJWTError:
        raise ClientError("invalid_client", "client_assertion is not a JWT") from None
    claims = None
    for jwk in jwks:
        if alg not in ALGORITHMS.get(jwk.get("kty", ""), ()):
            continue
        try:
            claims = jwt.decode(assertion, jwt.PyJWK(jwk, algorithm=alg).key, algorithms=[alg], audience=audiences,
                                issuer=client_id, leeway=30,
                                options={"require": ["exp", "iss", "sub", "aud", "jti"]})
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise ClientError("invalid_client", f"client_assertion refused: {exc}") from None
    if claims is None:
        raise ClientError("invalid_client", "client_assertion is not signed by a key of this client")
    if claims.get("sub") != client_id:
        raise ClientError("invalid_client", "client_assertion needs iss = sub = client_id")
    if float(claims["exp"]) > now + MAX_ASSERTION_SECONDS:
        raise ClientError("invalid_client", f"client_assertion may be valid at most {MAX_ASSERTION_SECONDS} s")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= 200:
        raise ClientError("invalid_client", "client_assertion needs a jti")
    return Assertion(jti, float(claims["exp"]))
