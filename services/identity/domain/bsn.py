"""Burgerservicenummer (BSN): normalisation and the eleven test.

Pure functions, no I/O. A BSN has 9 digits d1..d9 and is valid when
9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is divisible by 11 (and it is not all zeros).
"""

from __future__ import annotations

_SEPARATORS = str.maketrans("", "", " .-\t")

MSG_FORMAT = "Dit is geen geldig BSN: het moet uit 9 cijfers bestaan."
MSG_CHECKSUM = "Dit BSN klopt niet (elfproef)."


class BsnError(ValueError):
    """Raised for a BSN that cannot be used; the message is Dutch and meant for people.

    `kind` is "format" (not 9 digits) or "checksum" (fails the eleven test).
    """

    def __init__(self, message: str = MSG_FORMAT, kind: str = "format") -> None:
        super().__init__(message)
        self.kind = kind


def _digits(raw: str) -> str:
    """Strip separators; pad an 8-digit number (a lost leading zero) to 9 digits."""
    s = raw.strip().translate(_SEPARATORS)
    if len(s) == 8 and s.isascii() and s.isdigit():
        s = "0" + s
    return s


def _passes_eleven_test(s: str) -> bool:
    total = sum(int(d) * w for d, w in zip(s[:8], range(9, 1, -1))) - int(s[8])
    return total % 11 == 0 and s != "000000000"


def is_valid_bsn(s: str) -> bool:
    """True when `s` is exactly 9 ASCII digits that pass the eleven test (no normalising)."""
    if not isinstance(s, str) or len(s) != 9 or not (s.isascii() and s.isdigit()):
        return False
    return _passes_eleven_test(s)


def normalize_bsn(raw: str) -> str:
    """Return the canonical 9-digit BSN, or raise BsnError with a Dutch message.

    Spaces, dots and dashes are removed; an 8-digit input gets a leading zero
    (spreadsheets often drop it).
    """
    s = _digits(raw if isinstance(raw, str) else "")
    if len(s) != 9 or not (s.isascii() and s.isdigit()):
        raise BsnError(MSG_FORMAT, "format")
    if not _passes_eleven_test(s):
        raise BsnError(MSG_CHECKSUM, "checksum")
    return s
