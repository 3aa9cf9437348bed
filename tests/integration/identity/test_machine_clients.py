"""Machine clients (issue 12): the platform administrator registers a client for an MBO
institution; the client gets tokens at POST /oauth/token (client_secret_basic, client_secret_post,
private_key_jwt) answered as RFC 6749 §5.1/5.2; rotation, revocation (identity.client_revoked), the
client's log, and throttled failures. Real identity on PostgreSQL; the other services' side is in
tests/integration/test_machine_clients_e2e.py and tests/integration/dossier/test_feed.py."""
from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import datetime
from urllib.parse import quote

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from services.identity.demo import VO_SCHOOL, demo_id
from services.identity.domain.clients import ASSERTION_TYPE
from tests.integration.identity.conftest import MBO_UTRECHT_ID, world

BOTH = ["dossiers:read", "dossiers:handle"]


def basic(client_id: str, secret: str) -> dict:
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def register(w, *, scopes=BOTH, **extra) -> dict:
    r = await w.client.post("/v1/clients", json={"institution_id": str(MBO_UTRECHT_ID), "name": "Eduarte MBO Utrecht",
                                                 "scopes": scopes, **extra}, headers=await w.headers("admin"))
    assert r.status == 201, await r.text()
    assert r.headers["Cache-Control"] == "no-store"
    return await r.json()


async def token(w, form: dict, headers: dict | None = None):
    r = await w.client.post("/oauth/token", data=form, headers=headers or {})
    return r, await r.json()


async def claims_of(w, access_token: str) -> dict:
    keys = await (await w.client.get("/.well-known/jwks.json")).json()
    kid = jwt.get_unverified_header(access_token)["kid"]
    key = jwt.PyJWK(next(k for k in keys["keys"] if k["kid"] == kid)).key
    return jwt.decode(access_token, key, algorithms=["EdDSA"], audience="doorstroom")


async def test_a_client_with_a_secret_gets_tokens_basic_and_post(w):
    client = await register(w)
    cid, secret = client["client_id"], client["client_secret"]
    assert secret and client["auth_method"] == "client_secret" and client["institution_name"] == "MBO Utrecht"
    # the secret is kept only as a keyed hash
    stored = await w.fetchval("SELECT secret_hash FROM machine_client_credentials WHERE client_id = $1", uuid.UUID(cid))
    assert stored and secret.encode() not in bytes(stored)
    # ... and shown once: reading the client again does not show it
    again = await (await w.client.get(f"/v1/clients/{cid}", headers=await w.headers("admin"))).json()
    assert "client_secret" not in again and secret not in json.dumps(again)

    r, body = await token(w, {"grant_type": "client_credentials"}, basic(cid, secret))
    assert r.status == 200, body
    assert r.headers["Cache-Control"] == "no-store"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600 and body["scope"] == " ".join(BOTH)
    c = await claims_of(w, body["access_token"])
    assert c["role"] == "client" and c["sub"] == cid and c["client_id"] == cid
    assert c["institution_id"] == str(MBO_UTRECHT_ID) and c["scope"] == " ".join(BOTH)
    assert c["name"] == "Eduarte MBO Utrecht" and c["exp"] - c["iat"] == 600

    r, body = await token(w, {"grant_type": "client_credentials", "client_id": cid, "client_secret": secret,
                              "scope": "dossiers:read"})
    assert r.status == 200, body
    assert body["scope"] == "dossiers:read"
    assert (await claims_of(w, body["access_token"]))["scope"] == "dossiers:read"

    # a client token opens nothing of identity's API (no person's role)
    r = await w.client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert r.status == 403
    r = await w.client.get("/v1/clients", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert r.status == 403

    log = await (await w.client.get(f"/v1/clients/{cid}/log", headers=await w.headers("admin"))).json()
    events = [e["event"] for e in log["entries"]]
    assert events.count("token_issued") == 2 and events[-1] == "registered"
    assert log["entries"][-1]["by"] == "Beheerder Doorstroom"


async def test_errors_are_oauth_json(w):
    client = await register(w, scopes=["dossiers:read"])
    cid, secret = client["client_id"], client["client_secret"]
    r, body = await token(w, {"grant_type": "client_credentials"}, basic(cid, secret + "x"))
    assert r.status == 401 and body["error"] == "invalid_client"
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    assert r.content_type == "application/json"
    r, body = await token(w, {"grant_type": "client_credentials"}, basic(str(uuid.uuid4()), secret))
    assert r.status == 401 and body["error"] == "invalid_client"
    r, body = await token(w, {"grant_type": "client_credentials"})
    assert r.status == 401 and body["error"] == "invalid_client"
    r, body = await token(w, {"grant_type": "client_credentials", "scope": "dossiers:read dossiers:handle"},
                          basic(cid, secret))
    assert r.status == 400 and body["error"] == "invalid_scope"
    r, body = await token(w, {"grant_type": "password"}, basic(cid, secret))
    assert r.status == 400 and body["error"] == "unsupported_grant_type"
    r, body = await token(w, {}, basic(cid, secret))
    assert r.status == 400 and body["error"] == "invalid_request"
    r = await w.client.post("/oauth/token", json={"grant_type": "client_credentials"}, headers=basic(cid, secret))
    assert r.status == 400 and (await r.json())["error"] == "invalid_request"
    r, body = await token(w, {"grant_type": "client_credentials", "client_id": cid, "client_secret": secret},
                          basic(cid, secret))
    assert r.status == 400 and body["error"] == "invalid_request", "one way of authentication only"
    log = await (await w.client.get(f"/v1/clients/{cid}/log", headers=await w.headers("admin"))).json()
    assert "token_refused" in [e["event"] for e in log["entries"]]


async def test_only_the_platform_administrator_registers_and_bad_input_changes_nothing(w):
    body = {"institution_id": str(MBO_UTRECHT_ID), "name": "Osiris", "scopes": ["dossiers:read"]}
    for who in ("mbo_staff", "school_admin", "counsellor"):
        r = await w.client.post("/v1/clients", json=body, headers=await w.headers(who))
        assert r.status == 403
    before = await w.fetchval("SELECT count(*) FROM machine_clients")
    for bad in ({**body, "scopes": ["everything"]}, {**body, "scopes": []},
                {**body, "institution_id": str(uuid.uuid4())},
                {**body, "institution_id": str(demo_id(f"school:{VO_SCHOOL}"))},  # a sending school receives nothing
                {**body, "auth_method": "private_key_jwt"},  # no key
                {**body, "auth_method": "private_key_jwt", "public_key": {"kty": "oct", "k": "c2VjcmV0"}}):
        r = await w.client.post("/v1/clients", json=bad, headers=await w.headers("admin"))
        assert r.status == 422, await r.text()
        assert r.content_type == "application/problem+json"
    assert await w.fetchval("SELECT count(*) FROM machine_clients") == before
    # a HAVO school that takes part receives dossiers as an MBO does: it may connect its administration
    r = await w.client.post("/v1/clients", json={**body, "institution_id": str(demo_id("school:Stedelijk Lyceum"))},
                            headers=await w.headers("admin"))
    assert r.status == 201, await r.text()


def _assertion(key, cid: str, aud: str, *, alg: str, jti: str | None = None, exp: float | None = None) -> str:
    now = time.time()
    return jwt.encode({"iss": cid, "sub": cid, "aud": aud, "iat": int(now), "exp": int(exp or now + 120),
                       "jti": jti or uuid.uuid4().hex}, key, algorithm=alg)


@pytest.fixture
async def lenient(unique):
    """Identity whose throttle lets the many refused assertions of one test pass (the default slows a
    client down after 5 failures)."""
    async with world(f"id_len_{unique}", login_account_soft_limit=50, login_account_hard_limit=60) as x:
        yield x


async def test_private_key_jwt_with_a_jwk_and_a_pem(lenient):
    w = lenient
    aud = str(w.client.make_url("/oauth/token"))
    ed = ed25519.Ed25519PrivateKey.generate()
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(ed.public_key()))
    client = await register(w, auth_method="private_key_jwt", public_key=jwk)
    cid = client["client_id"]
    assert client["client_secret"] is None and client["credentials"][0]["kind"] == "public_key"

    def form(assertion: str) -> dict:
        return {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion}

    signed = _assertion(ed, cid, aud, alg="EdDSA")
    r, body = await token(w, form(signed))
    assert r.status == 200, body
    assert (await claims_of(w, body["access_token"]))["client_id"] == cid
    r, body = await token(w, form(signed))
    assert r.status == 401 and body["error"] == "invalid_client", "a jti is not accepted twice"
    r, body = await token(w, form(_assertion(ed, cid, "https://elders.example/oauth/token", alg="EdDSA")))
    assert r.status == 401, "aud must be the token endpoint"
    r, body = await token(w, form(_assertion(ed, cid, aud, alg="EdDSA", exp=time.time() - 120)))
    assert r.status == 401, "an expired assertion"
    r, body = await token(w, form(_assertion(ed25519.Ed25519PrivateKey.generate(), cid, aud, alg="EdDSA")))
    assert r.status == 401, "signed by another key"

    # rotation of a key client: a new public key is needed; with keep_old_minutes 0 the old key stops at once
    admin = await w.headers("admin")
    r = await w.client.post(f"/v1/clients/{cid}/rotate", json={}, headers=admin)
    assert r.status == 422
    new_key = ed25519.Ed25519PrivateKey.generate()
    r = await w.client.post(f"/v1/clients/{cid}/rotate", headers=admin, json={
        "keep_old_minutes": 0, "public_key": json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(new_key.public_key()))})
    assert r.status == 200, await r.text()
    r, body = await token(w, form(_assertion(ed, cid, aud, alg="EdDSA")))
    assert r.status == 401, "the old key works no more"
    r, body = await token(w, form(_assertion(new_key, cid, aud, alg="EdDSA")))
    assert r.status == 200, body

    # an RSA key given as PEM
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    client = await register(w, auth_method="private_key_jwt", public_key=pem, scopes=["dossiers:read"])
    r, body = await token(w, form(_assertion(rsa_key, client["client_id"], aud, alg="RS256")))
    assert r.status == 200, body
    assert body["scope"] == "dossiers:read"


async def test_rotation_keeps_the_old_secret_for_the_overlap_or_not_at_all(w):
    client = await register(w)
    cid, old = client["client_id"], client["client_secret"]
    admin = await w.headers("admin")
    r = await w.client.post(f"/v1/clients/{cid}/rotate", json={"keep_old_minutes": 30}, headers=admin)
    assert r.status == 200, await r.text()
    rotated = await r.json()
    new = rotated["client_secret"]
    assert new and new != old
    assert sorted(c["expires_at"] is None for c in rotated["credentials"]) == [False, True]
    for secret in (old, new):
        r, body = await token(w, {"grant_type": "client_credentials"}, basic(cid, secret))
        assert r.status == 200, body
    r = await w.client.post(f"/v1/clients/{cid}/rotate", json={"keep_old_minutes": 0}, headers=admin)
    newest = (await r.json())["client_secret"]
    for secret, status in ((old, 401), (new, 401), (newest, 200)):
        r, body = await token(w, {"grant_type": "client_credentials"}, basic(cid, secret))
        assert r.status == status, (secret, body)


async def test_revocation_ends_the_client_and_is_published(w):
    client = await register(w)
    cid, secret = client["client_id"], client["client_secret"]
    r, body = await token(w, {"grant_type": "client_credentials"}, basic(cid, secret))
    assert r.status == 200
    issued = body["access_token"]
    r = await w.client.post(f"/v1/clients/{cid}/revoke", headers=await w.headers("admin"))
    assert r.status == 200, await r.text()
    assert (await r.json())["revoked_at"]
    r, body = await token(w, {"grant_type": "client_credentials"}, basic(cid, secret))
    assert r.status == 401 and body["error"] == "invalid_client"
    [event] = [e for e in await w.events("identity.client_revoked") if e["client_id"] == cid]
    assert event["institution_id"] == str(MBO_UTRECHT_ID)
    assert (await claims_of(w, issued))["iat_ms"] / 1000 <= datetime.fromisoformat(event["revoked_at"]).timestamp()
    # identity itself refuses the revoked client's token at once
    r = await w.client.get("/v1/me", headers={"Authorization": f"Bearer {issued}"})
    assert r.status == 401
    # revoking again changes nothing and publishes nothing
    r = await w.client.post(f"/v1/clients/{cid}/revoke", headers=await w.headers("admin"))
    assert r.status == 200
    assert len([e for e in await w.events("identity.client_revoked") if e["client_id"] == cid]) == 1
    r = await w.client.post(f"/v1/clients/{cid}/rotate", json={}, headers=await w.headers("admin"))
    assert r.status == 409


async def test_failed_client_authentications_are_throttled(unique):
    async with world(f"id_thr_{unique}", login_account_soft_limit=2, login_account_hard_limit=3,
                     throttle_max_delay_seconds=0) as w:
        client = await register(w)
        cid, secret = client["client_id"], client["client_secret"]
        for _ in range(3):
            r, _body = await token(w, {"grant_type": "client_credentials"}, basic(cid, "fout"))
            assert r.status == 401
        r, body = await token(w, {"grant_type": "client_credentials"}, basic(cid, secret))
        assert r.status == 401 and body["error"] == "invalid_client", "blocked: even the right secret is refused"
