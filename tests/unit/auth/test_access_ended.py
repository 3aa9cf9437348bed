"""What an end of access (identity.access_ended) covers, as every service's token verifier applies
it: one session or every session of an account, the tokens issued at or before ended_at (to the
millisecond), a remembered token too; ends are forgotten once every token they cover expired."""
from __future__ import annotations

import time
import uuid

import jwt
import pytest

from shared.auth import (
    ALGORITHM,
    AUDIENCE,
    ISSUER,
    Principal,
    TokenSigner,
    TokenVerifier,
    jwks,
    new_private_key_pem,
)
from shared.problems import Problem
from shared.revocations import Revocations


def _principal(account_id: uuid.UUID | None = None, session_id: str | None = None) -> Principal:
    return Principal(account_id=account_id or uuid.uuid4(), role="mentor", session_id=session_id or uuid.uuid4().hex)


def test_one_session_or_every_session_of_the_account_issued_at_or_before_ended_at():
    ended = time.time() - 10
    revocations = Revocations(keep_seconds=960)
    a, b = _principal(), _principal()
    other_session = _principal(a.account_id)
    revocations.add(a.account_id, a.session_id, ended)
    assert revocations.covers(a, ended - 100) and revocations.covers(a, ended)
    assert not revocations.covers(a, ended + 0.001), "a token issued after the end"
    assert not revocations.covers(other_session, ended - 100), "another session of the account"
    assert not revocations.covers(_principal(b.account_id, a.session_id), ended - 100), "another account"
    revocations.add(b.account_id, None, ended)
    assert revocations.covers(b, ended - 100) and revocations.covers(_principal(b.account_id), ended - 0.001)
    assert not revocations.covers(_principal(b.account_id), ended + 0.001), "a new login"
    revocations.add(b.account_id, None, ended - 50)  # an older end does not shorten a later one
    assert revocations.covers(b, ended - 1)


def test_ends_are_forgotten_once_every_token_they_cover_has_expired():
    revocations = Revocations(keep_seconds=960)
    p = _principal()
    revocations.add(p.account_id, None, time.time() - 2000)  # too old to matter: not even kept
    assert len(revocations) == 0
    revocations.add(p.account_id, None, time.time() - 100)
    revocations.add(p.account_id, p.session_id, time.time() - 100)
    assert revocations.purge(now=time.time()) == 0 and len(revocations) == 2
    assert revocations.purge(now=time.time() + 900) == 2 and len(revocations) == 0
    assert not revocations.covers(p, time.time() - 200)


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner(new_private_key_pem(), kid="k1")


async def test_a_remembered_token_is_refused_once_its_session_ended(signer):
    verifier = TokenVerifier(keys=jwks(signer))
    verifier.revocations = Revocations(keep_seconds=960)
    principal = _principal()
    token = signer.sign(principal, issued_at=time.time() - 60)
    later = signer.sign(principal)  # the same session, made after the end below (identity would not)
    assert await verifier.verify(token) == principal  # verified and remembered
    verifier.revocations.add(principal.account_id, principal.session_id, time.time() - 30)
    with pytest.raises(Problem) as err:
        await verifier.verify(token)
    problem = err.value
    assert (problem.status, problem.code, problem.detail) == (401, "access-ended", "Je bent uitgelogd. Log opnieuw in.")
    assert token not in verifier._verified
    assert await verifier.verify(later) == principal


async def test_a_token_of_the_same_second_is_told_apart_by_its_milliseconds(signer):
    verifier = TokenVerifier(keys=jwks(signer))
    verifier.revocations = Revocations(keep_seconds=960)
    ended = int(time.time()) - 20 + 0.5
    principal = _principal()
    verifier.revocations.add(principal.account_id, None, ended)
    with pytest.raises(Problem):
        await verifier.verify(signer.sign(principal, issued_at=ended - 0.2))
    assert await verifier.verify(signer.sign(principal, issued_at=ended + 0.2)) == principal
    # a token with whole seconds only (no iat_ms): made in the second of the end counts as before it
    now = int(ended)
    claims = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now - 5, "exp": now + 900,
              "sub": str(principal.account_id), "role": "mentor", "session_id": principal.session_id}
    coarse = jwt.encode(claims, signer._key, algorithm=ALGORITHM, headers={"kid": signer.kid})
    with pytest.raises(Problem):
        await verifier.verify(coarse)
    claims.update(iat=now + 1, nbf=now - 4)
    assert await verifier.verify(jwt.encode(claims, signer._key, algorithm=ALGORITHM,
                                            headers={"kid": signer.kid})) == principal
