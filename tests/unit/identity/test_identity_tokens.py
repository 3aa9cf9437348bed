import hashlib
import re

from services.identity.domain.tokens import hash_token, new_token


def test_token_is_urlsafe_and_long_enough():
    token = new_token()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    # 6 bits per base64url character: at least 128 bits
    assert len(token) * 6 >= 128
    assert len(token) == 43  # 32 bytes


def test_tokens_are_unique():
    assert len({new_token() for _ in range(1000)}) == 1000


def test_hash_is_sha256_hex_and_stable():
    token = new_token()
    digest = hash_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert hash_token(token) == digest
    assert hash_token(token + "x") != digest
