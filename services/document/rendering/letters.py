"""Activation letters: one page per student with the school, the student's name and class, the
activation code, the manual's steps 1 to 7 (chapter 1.1) in the words of the portal's pages (the
page 'Maak een nieuw account', the buttons 'Account maken', 'Account activeren', 'Inloggen' and
'Nieuw dossier'; the activation mail of notification says the same) with the code filled in, a QR
code with the registration address and the date until which the code is valid."""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from services.document.rendering.engine import compile_pdf
from services.document.rendering.qr import qr_svg

# Bump when the letter's layout or wording changes: files rendered before are then not reused.
TEMPLATE_VERSION = 1

DUTCH_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
                "september", "oktober", "november", "december")


def dutch_date(day: date) -> str:
    """29 november 2026"""
    return f"{day.day} {DUTCH_MONTHS[day.month - 1]} {day.year}"


def _fold(text: str) -> str:
    """Case and accents do not change the order: Çelik sorts with Celik, Ĳzer with IJzer."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _natural(text: str) -> tuple:
    """Class names in natural order: 4a, 4b, 10a (not 10a, 4a)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", _fold(text)) if part)


def print_order(letters: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Letters in class order, then by name (``sort_name``: achternaam, roepnaam tussenvoegsel)."""
    return sorted(letters, key=lambda l: (_natural(l["class_name"]), _fold(l.get("sort_name") or l["student_name"]),
                                          _fold(l["student_name"]), str(l.get("student_id", ""))))


def content_hash(*, school_name: str, register_url: str, expires_on: date,
                 letters: Sequence[Mapping[str, Any]]) -> str:
    """What makes two batches render to the same PDF (letters in print order)."""
    canonical = json.dumps({"template": TEMPLATE_VERSION, "school": school_name, "url": register_url,
                            "expires": expires_on.isoformat(),
                            "letters": [[l["student_name"], l["class_name"], l["code"]] for l in letters]},
                           ensure_ascii=False, separators=(",", ":"))
    return "letters:" + hashlib.sha256(canonical.encode()).hexdigest()


def render_letters(*, school_name: str, register_url: str, expires_on: date, letters: Sequence[Mapping[str, Any]],
                   printed_on: date) -> bytes:
    """One PDF with one page per letter, in the order given."""
    data = {
        "school_name": school_name,
        "register_url": register_url,
        "expires_on": expires_on.strftime("%d-%m-%Y"),
        "printed_on": dutch_date(printed_on),
        "qr_svg": qr_svg(register_url),
        "letters": [{"student_name": l["student_name"], "class_name": l["class_name"], "code": l["code"]}
                    for l in letters],
    }
    return compile_pdf("letters", data)
