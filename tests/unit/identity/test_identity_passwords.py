import unicodedata

import pytest

from services.identity.domain import passwords
from services.identity.domain.passwords import MAX_LENGTH, MIN_LENGTH, check_password, common_passwords

GOOD = "paarse olifant danst op het dak"


def test_good_password_has_no_problems():
    assert check_password(GOOD) == []
    assert check_password(GOOD, email="leerling@school.nl") == []


def test_length_bounds():
    assert check_password("x7#kq9v!mw2z") == []  # exactly 12
    assert check_password("x7#kq9v!mw2") == ["Je wachtwoord is te kort: gebruik minstens 12 tekens."]
    assert check_password("a" * 5 + "b" * 123) == []  # exactly 128
    assert check_password("a" * 5 + "b" * 124) == ["Je wachtwoord is te lang: gebruik hoogstens 128 tekens."]
    assert (MIN_LENGTH, MAX_LENGTH) == (12, 128)


def test_length_counts_code_points_after_nfc():
    decomposed = unicodedata.normalize("NFD", "éééééééééééé")[:22]  # 11 x (e + accent)
    assert len(decomposed) == 22
    assert "te kort" in check_password(decomposed)[0]
    assert check_password("🔑" * 12) == []  # emoji are single code points


def test_no_composition_rules():
    assert check_password("alleenkleineletters zonder cijfers") == []
    assert check_password("                 ") == []  # spaces are allowed characters


@pytest.mark.parametrize("pw", ["wachtwoord123", "Welkom123456", "QWERTYUIOPASDFGH", "passwordpassword",
                                "1234567890123", "qwertyuiop123", "PASSWORD12345"])
def test_common_passwords_are_refused_case_insensitively(pw):
    assert passwords.MSG_COMMON in check_password(pw)


def test_list_is_real_and_normalised():
    words = common_passwords()
    assert len(words) > 1000
    assert all(w == w.lower() and w == w.strip() and w for w in words)
    assert {"1qaz2wsx3edc", "wachtwoord123", "welkom123456"} <= words
    assert common_passwords() is words  # loaded once


def test_email_and_local_part_are_refused():
    email = "Jan.de.Vries@School.nl"
    assert check_password("jan.de.vries@school.nl", email=email) == [passwords.MSG_EMAIL]
    assert check_password("JAN.DE.VRIES", email=email) == [passwords.MSG_EMAIL]
    assert check_password("jan.de.vries!", email=email) == []


def test_several_problems_are_all_reported():
    problems = check_password("wachtwoord1", email="wachtwoord1@x.nl")
    assert len(problems) == 3
    assert all(isinstance(p, str) and p.endswith(".") for p in problems)
