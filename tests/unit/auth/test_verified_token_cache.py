"""The verifier remembers verified tokens until they expire; a tampered, expired or foreign token is
still refused, and the memory stays bounded."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from shared.auth import Principal, TokenSigner, TokenVerifier, jwks, new_private_key_pem
from shared.problems import Problem


def _principal() -> Principal:
    return Principal(account_id=uuid.uuid4(), role="student", session_id=uuid.uuid4().hex)


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner(new_private_key_pem(), kid="k1")


async def test_a_verified_token_is_answered_from_memory_until_it_expires(signer, monkeypatch):
    verifier = TokenVerifier(keys=jwks(signer))
    principal = _principal()
    token = signer.sign(principal, ttl_seconds=1)
    checks = []
    original = verifier._verify

    async def counting(t):
        checks.append(t)
        return await original(t)

    monkeypatch.setattr(verifier, "_verify", counting)
    assert await verifier.verify(token) == principal
    assert await verifier.verify(token) == principal
    assert len(checks) == 1, "the second request is answered from memory"
    # once it has expired, the full check runs again, and refuses it
    await asyncio.sleep(2.1)
    with pytest.raises(Problem) as err:
        await verifier.verify(token)
    assert err.value.status == 401 and len(checks) == 2
    assert token not in verifier._verified


async def test_a_changed_token_is_not_taken_for_a_remembered_one(signer):
    verifier = TokenVerifier(keys=jwks(signer))
    token = signer.sign(_principal())
    await verifier.verify(token)
    head, payload, signature = token.split(".")
    swapped = "A" if signature[10] != "A" else "B"
    for bad in (f"{head}.{payload}.{signature[:10]}{swapped}{signature[11:]}", token + "x"):
        with pytest.raises(Problem) as err:
            await verifier.verify(bad)
        assert err.value.status == 401
    foreign = TokenSigner(new_private_key_pem(), kid="k1").sign(_principal())
    with pytest.raises(Problem):
        await verifier.verify(foreign)


async def test_the_memory_is_bounded_least_recently_used_first(signer):
    verifier = TokenVerifier(keys=jwks(signer), cache_size=3)
    tokens = [signer.sign(_principal()) for _ in range(4)]
    for token in tokens[:3]:
        await verifier.verify(token)
    await verifier.verify(tokens[0])  # used again: the oldest is now tokens[1]
    await verifier.verify(tokens[3])
    assert list(verifier._verified) == [tokens[2], tokens[0], tokens[3]]
