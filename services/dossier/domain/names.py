"""Names of students as people read them, and the forms we sort and search them by."""
from __future__ import annotations

import unicodedata


def full_name(roepnaam: str, tussenvoegsel: str | None, achternaam: str) -> str:
    """"Roos de Winter"."""
    return " ".join(p for p in (roepnaam.strip(), (tussenvoegsel or "").strip(), achternaam.strip()) if p)


def fold(text: str) -> str:
    """Lower case without accents and with single spaces: "Ëlla  Çelik" -> "ella celik"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def sort_name(roepnaam: str, tussenvoegsel: str | None, achternaam: str) -> str:
    """Dutch lists sort on the surname without its tussenvoegsel: "winter roos de"."""
    return fold(f"{achternaam} {roepnaam} {tussenvoegsel or ''}")


def search_name(roepnaam: str, voornamen: str | None, tussenvoegsel: str | None, achternaam: str) -> str:
    """What a name search looks in (every word of the query must occur in it)."""
    return fold(f"{roepnaam} {voornamen or ''} {tussenvoegsel or ''} {achternaam}")


def search_words(query: str, limit: int = 5) -> list[str]:
    """The words of a name search, folded like `search_name`; at most `limit` of them."""
    return fold(query).split()[:limit]
