"""How a student's or staff member's name is shown and sorted (Dutch conventions)."""
from __future__ import annotations


def full_name(roepnaam: str, tussenvoegsel: str, achternaam: str) -> str:
    """"Roos de Winter"."""
    return " ".join(p for p in (roepnaam, tussenvoegsel, achternaam) if p)


def sort_name(roepnaam: str, tussenvoegsel: str, achternaam: str) -> str:
    """"Winter, Roos de": the order of class lists and letters (tussenvoegsel is not sorted on)."""
    first = " ".join(p for p in (roepnaam, tussenvoegsel) if p)
    return f"{achternaam}, {first}" if first else achternaam
