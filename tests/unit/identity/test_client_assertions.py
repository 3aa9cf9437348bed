"""Machine clients, the pure rules (services/identity/domain/clients.py): scopes a token gets, the
public keys accepted, and a private_key_jwt client assertion checked as RFC 7523 §3 asks."""
from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from services.identity.domain.clients import (MAX_ASSERTION_SECONDS, ClientError, granted_scopes, parse_scope,
                                              public_jwk, unverified_client_id, verify_assertion)

BOTH = ["dossiers:read", "dossiers:handle"]
AUD = "https://identity.example.nl/oauth/token"


def test_scopes():
    assert parse_scope(None) is None and parse_scope("  ") is None
    assert parse_scope("dossiers:read dossiers:read") == ["dossiers:read"]
    assert granted_scopes(None, ["dossiers:read"]) == ["dossiers:read"]
    assert granted_scopes(["dossiers:handle"], BOTH) == ["dossiers:handle"]
    with pytest.raises(ClientError) as err:
        granted_scopes(["dossiers:read", "dossiers:write"], BOTH)
    assert err.value.error == "invalid_scope"
    with pytest.raises(ClientError):
        granted_scopes(["dossiers:handle"], ["dossiers:read"])


def _pem(key) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_public_keys():
    ed = ed25519.Ed25519PrivateKey.generate()
    assert public_jwk(_pem(ed.public_key()))["kty"] == "OKP"
    assert public_jwk(_pem(ec.generate_private_key(ec.SECP256R1()).public_key()))["crv"] == "P-256"
    assert set(public_jwk(_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()))) == \
        {"kty", "n", "e"}
    private = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(ed))
    for bad in (private, {"kty": "oct", "k": "c2VjcmV0"}, "geen sleutel", 42,
                _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()),
                ed.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()):
        with pytest.raises(ValueError):
            public_jwk(bad)


def _signed(key, **claims) -> str:
    cid = claims.pop("cid")
    now = time.time()
    body = {"iss": cid, "sub": cid, "aud": AUD, "exp": int(now + 60), "jti": uuid.uuid4().hex, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="EdDSA")


def test_a_client_assertion():
    key = ed25519.Ed25519PrivateKey.generate()
    jwks = [public_jwk(json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key())))]
    cid = str(uuid.uuid4())
    good = _signed(key, cid=cid)
    assert unverified_client_id(good) == cid
    assert verify_assertion(good, client_id=cid, jwks=jwks, audiences=[AUD]).jti
    refused = [
        _signed(key, cid=cid, aud="https://elders.example/token"),          # another audience
        _signed(key, cid=cid, exp=int(time.time()) - 120),                 # expired
        _signed(key, cid=cid, exp=int(time.time()) + MAX_ASSERTION_SECONDS + 120),  # valid too long
        _signed(key, cid=cid, jti=None),                                   # no jti
        _signed(ed25519.Ed25519PrivateKey.generate(), cid=cid),            # another key
        _signed(key, cid=cid, sub=str(uuid.uuid4())),                      # sub is not the client
    ]
    for assertion in refused:
        with pytest.raises(ClientError) as err:
            verify_assertion(assertion, client_id=cid, jwks=jwks, audiences=[AUD])
        assert err.value.error == "invalid_client"
    with pytest.raises(ClientError):
        unverified_client_id(_signed(key, cid=cid, iss="someone-else"))
