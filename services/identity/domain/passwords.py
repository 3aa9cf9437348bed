"""Password policy (NIST SP 800-63B style): length and a block list, no composition rules.

- Length is counted in Unicode code points after NFC normalisation: 12..128.
- A password is never truncated; any character (spaces, emoji) is allowed.
- Refused when it is a commonly used password (case-insensitive) or equal to the
  e-mail address or its local part.

`common_passwords.txt` holds the entries of length >= 10 from the "passwords"
frequency list of zxcvbn (MIT licence, (c) 2012 Dropbox, Inc.), plus common Dutch and other long
passwords; one per line, lowercase.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 128

MSG_TOO_SHORT = "Je wachtwoord is te kort: gebruik minstens {n} tekens."
MSG_TOO_LONG = "Je wachtwoord is te lang: gebruik hoogstens {n} tekens."
MSG_COMMON = "Dit wachtwoord wordt te vaak gebruikt en is makkelijk te raden. Kies een ander."
MSG_EMAIL = "Je wachtwoord mag niet gelijk zijn aan je e-mailadres."


@cache
def common_passwords() -> frozenset[str]:
    """The block list, loaded once from the package data."""
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def normalize_password(pw: str) -> str:
    """NFC-normalise a password; hash this form so equivalent inputs match."""
    return unicodedata.normalize("NFC", pw)


def _key(s: str) -> str:
    return normalize_password(s).lower()


def check_password(pw: str, *, email: str | None = None) -> list[str]:
    """Return the problems with `pw` as Dutch sentences; an empty list means it is fine."""
    pw = normalize_password(pw)
    problems: list[str] = []
    if len(pw) < MIN_LENGTH:
        problems.append(MSG_TOO_SHORT.format(n=MIN_LENGTH))
    elif len(pw) > MAX_LENGTH:
        problems.append(MSG_TOO_LONG.format(n=MAX_LENGTH))
    key = pw.lower()
    if key in common_passwords():
        problems.append(MSG_COMMON)
    if email:
        address = _key(email.strip())
        local = address.rpartition("@")[0] or address
        if key in {address, local}:
            problems.append(MSG_EMAIL)
    return problems
