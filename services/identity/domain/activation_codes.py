"""Activation codes: the code a counsellor or mentor issues so a student can start a dossier.

A code has 10 symbols from a 31-character alphabet without look-alikes
(no 0/O, 1/I/L): 10 * log2(31) ~= 49.5 bits. It is shown as "ABCD-EFGH-JK"
and stored only as a SHA-256 hash of its normalised form.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
import secrets
from datetime import date, datetime

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
GROUP_SIZE = 4
ENTROPY_BITS = CODE_LENGTH * math.log2(len(ALPHABET))

MSG_FORMAT = "Deze activatiecode heeft niet de juiste vorm."

_IGNORED = str.maketrans("", "", " -\t")


class CodeFormatError(ValueError):
    """Raised when user input cannot be an activation code; the message is Dutch."""


def format_code(normalized: str) -> str:
    """Group a normalised code for display: "ABCDEFGHJK" -> "ABCD-EFGH-JK"."""
    return "-".join(normalized[i : i + GROUP_SIZE] for i in range(0, len(normalized), GROUP_SIZE))


def new_code() -> str:
    """A fresh random code, formatted for display (e.g. "7KQM-X2RD-HP")."""
    return format_code("".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)))


def normalize_code(user_input: str) -> str:
    """Uppercase and strip spaces and dashes; raise CodeFormatError if it cannot be a code.

    Look-alike characters (0, O, 1, I, L) are not guessed at: they are refused.
    """
    s = user_input.translate(_IGNORED)
    if not s.isascii():  # checked before upper(): "ß".upper() == "SS"
        raise CodeFormatError(MSG_FORMAT)
    s = s.upper()
    if len(s) != CODE_LENGTH or any(ch not in ALPHABET for ch in s):
        raise CodeFormatError(MSG_FORMAT)
    return s


def hash_code(normalized: str, key: bytes) -> str:
    """What is stored of a normalised code, and looked up by: a keyed hash (HMAC-SHA256 with
    ACTIVATION_CODE_KEY). A code has about 50 bits; a plain hash of it in a database dump could be
    brute-forced back to every working code, a keyed one not without the key."""
    return "h1:" + hmac.new(key, normalized.encode("ascii"), hashlib.sha256).hexdigest()


def legacy_hash_code(normalized: str) -> str:
    """How codes issued before 2026-12 were stored (plain SHA-256): looked up as well, so those
    keep working until they expire (31 July 2027 at the latest); drop it after that date."""
    return hashlib.sha256(normalized.encode("ascii")).hexdigest()


def default_expiry(today: date) -> date:
    """End of the Dutch school year: 31 July of this year, or of next year after that date."""
    end = date(today.year, 7, 31)
    return end if today <= end else date(today.year + 1, 7, 31)


class CodeStatus(enum.Enum):
    NONE = "none"
    ISSUED = "issued"
    EXPIRED = "expired"
    REDEEMED = "redeemed"

    @property
    def label(self) -> str:
        """Dutch label for screens and reports."""
        return _LABELS[self]


_LABELS = {
    CodeStatus.NONE: "geen code",
    CodeStatus.ISSUED: "verstrekt",
    CodeStatus.EXPIRED: "verlopen",
    CodeStatus.REDEEMED: "ingewisseld",
}


def _as_datetime(value: date | datetime, like: datetime) -> datetime:
    """Compare a bare date as the end of that day (valid through the whole expiry day)."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, datetime.max.time(), tzinfo=like.tzinfo)


def code_status(
    issued_at: datetime | None,
    expires_at: date | datetime | None,
    redeemed_at: datetime | None,
    now: datetime,
) -> CodeStatus:
    """Status of a student's activation code at `now`.

    Redeemed wins over expired (a redeemed code stays redeemed). A code expires
    after `expires_at`; a bare date counts as valid through that whole day.
    """
    if redeemed_at is not None:
        return CodeStatus.REDEEMED
    if issued_at is None:
        return CodeStatus.NONE
    if expires_at is not None and now > _as_datetime(expires_at, now):
        return CodeStatus.EXPIRED
    return CodeStatus.ISSUED
