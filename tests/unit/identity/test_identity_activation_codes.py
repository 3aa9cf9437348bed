import hashlib
import math
import re
from datetime import date, datetime, timedelta, timezone

import pytest

from services.identity.domain.activation_codes import (
    ALPHABET,
    CodeFormatError,
    CodeStatus,
    code_status,
    default_expiry,
    format_code,
    hash_code,
    legacy_hash_code,
    new_code,
    normalize_code,
)


def test_alphabet_has_no_look_alikes_and_no_duplicates():
    assert not set("01OIL") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 31
    assert ALPHABET == ALPHABET.upper()


def test_new_code_shape_and_entropy():
    code = new_code()
    assert re.fullmatch(r"[^-]{4}-[^-]{4}-[^-]{2}", code)
    symbols = code.replace("-", "")
    assert set(symbols) <= set(ALPHABET)
    assert len(symbols) * math.log2(len(ALPHABET)) >= 40


def test_codes_use_the_whole_alphabet_and_do_not_repeat():
    codes = [new_code() for _ in range(2000)]
    assert len(set(codes)) == len(codes)
    assert set("".join(codes).replace("-", "")) == set(ALPHABET)


def test_normalize_round_trip():
    for _ in range(200):
        code = new_code()
        normalized = normalize_code(code)
        assert format_code(normalized) == code
        assert normalize_code(normalized) == normalized


@pytest.mark.parametrize("typed", ["abcd-efgh-jk", " ABCD EFGH JK ", "abcdefghjk", "AB-CD-EF-GH-JK"])
def test_normalize_accepts_sloppy_input(typed):
    assert normalize_code(typed) == "ABCDEFGHJK"


@pytest.mark.parametrize("typed", ["", "ABCD-EFGH-J", "ABCD-EFGH-JKM", "ABCD-EFGH-J0", "OBCD-EFGH-JK",
                                   "ABCD-EFGH-JI", "ABCD-EFGH-JL", "ABCD_EFGH_JK", "ABCD-EFGH-JÉ",
                                   "ABCD-EFGH-ß"])
def test_normalize_rejects_bad_input(typed):
    with pytest.raises(CodeFormatError) as exc:
        normalize_code(typed)
    assert str(exc.value) == "Deze activatiecode heeft niet de juiste vorm."
    assert isinstance(exc.value, ValueError)


def test_hash_code_is_keyed():
    key, other = b"k" * 32, b"o" * 32
    assert hash_code("ABCDEFGHJK", key).startswith("h1:")
    assert hash_code("ABCDEFGHJK", key) != hashlib.sha256(b"ABCDEFGHJK").hexdigest()
    assert hash_code("ABCDEFGHJK", key) != hash_code("ABCDEFGHJK", other), "without the key it cannot be recomputed"
    assert hash_code(normalize_code("abcd efgh jk"), key) == hash_code("ABCDEFGHJK", key)
    assert legacy_hash_code("ABCDEFGHJK") == hashlib.sha256(b"ABCDEFGHJK").hexdigest()


@pytest.mark.parametrize(
    "today, expected",
    [
        (date(2025, 1, 10), date(2025, 7, 31)),
        (date(2025, 7, 31), date(2025, 7, 31)),
        (date(2025, 8, 1), date(2026, 7, 31)),
        (date(2025, 12, 31), date(2026, 7, 31)),
    ],
)
def test_default_expiry_is_end_of_school_year(today, expected):
    assert default_expiry(today) == expected


def test_labels_are_dutch():
    assert [s.label for s in CodeStatus] == ["geen code", "verstrekt", "verlopen", "ingewisseld"]


NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
ISSUED = NOW - timedelta(days=30)


def test_code_status():
    assert code_status(None, None, None, NOW) is CodeStatus.NONE
    assert code_status(ISSUED, NOW + timedelta(days=1), None, NOW) is CodeStatus.ISSUED
    assert code_status(ISSUED, NOW - timedelta(seconds=1), None, NOW) is CodeStatus.EXPIRED
    assert code_status(ISSUED, NOW - timedelta(days=1), NOW - timedelta(days=2), NOW) is CodeStatus.REDEEMED
    assert code_status(ISSUED, None, None, NOW) is CodeStatus.ISSUED


def test_code_status_with_a_date_expiry_is_valid_through_that_day():
    assert code_status(ISSUED, date(2025, 6, 1), None, NOW) is CodeStatus.ISSUED
    assert code_status(ISSUED, date(2025, 5, 31), None, NOW) is CodeStatus.EXPIRED
    naive_now = datetime(2025, 6, 1, 23, 59)
    assert code_status(ISSUED, date(2025, 6, 1), None, naive_now) is CodeStatus.ISSUED
