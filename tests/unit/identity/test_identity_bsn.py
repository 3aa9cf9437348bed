import pytest

from services.identity.domain.bsn import BsnError, is_valid_bsn, normalize_bsn


@pytest.mark.parametrize("bsn", ["111222333", "123456782", "999999990", "010000008"])
def test_valid_bsns(bsn):
    assert is_valid_bsn(bsn)
    assert normalize_bsn(bsn) == bsn


@pytest.mark.parametrize("bsn", ["123456789", "111222334", "999999999"])
def test_eleven_test_failures(bsn):
    assert not is_valid_bsn(bsn)
    with pytest.raises(BsnError) as exc:
        normalize_bsn(bsn)
    assert str(exc.value) == "Dit BSN klopt niet (elfproef)."
    assert exc.value.kind == "checksum"


def test_all_zeros_is_not_a_bsn_although_it_passes_the_sum():
    assert not is_valid_bsn("000000000")
    with pytest.raises(BsnError):
        normalize_bsn("000000000")


@pytest.mark.parametrize("bad", ["", "12345678a", "1234567", "1234567890", "１１１２２２３３３", "11122233٣"])
def test_wrong_shape(bad):
    assert not is_valid_bsn(bad)
    with pytest.raises(BsnError) as exc:
        normalize_bsn(bad)
    assert str(exc.value) == "Dit is geen geldig BSN: het moet uit 9 cijfers bestaan."
    assert exc.value.kind == "format"


@pytest.mark.parametrize("raw", ["1112.22.333", " 111 222 333 ", "111-222-333", "1112.22.333\t"])
def test_normalize_strips_separators(raw):
    assert normalize_bsn(raw) == "111222333"


def test_eight_digits_get_a_leading_zero():
    assert normalize_bsn("10000008") == "010000008"
    assert normalize_bsn("1000.00.08") == "010000008"


def test_is_valid_does_not_normalise():
    assert not is_valid_bsn("1112.22.333")
    assert not is_valid_bsn(111222333)  # type: ignore[arg-type]


def test_bsn_error_is_a_value_error():
    assert issubclass(BsnError, ValueError)


def test_eleven_test_matches_definition_for_many_numbers():
    def by_definition(s):
        d = [int(c) for c in s]
        return (sum((9 - i) * d[i] for i in range(8)) - d[8]) % 11 == 0 and s != "0" * 9

    for n in range(100000000, 100100000, 7):
        s = f"{n:09d}"
        assert is_valid_bsn(s) == by_definition(s)
