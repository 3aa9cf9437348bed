"""The follow-up choice of part A checked against the catalogue in the read model.

A student applies to a receiving school of any kind: an MBO programme, a HAVO or VMBO school (with
one of its years or profiles when it lists them), whether the school takes part in Doorstroom or
not, or a school that is not in the list at all (typed in: name and place; never taking part)."""
from __future__ import annotations

import uuid
from typing import Any

import asyncpg

KIND_LABELS = {"mbo": "mbo", "havo": "havo", "vmbo": "vmbo"}


class ChoiceError(ValueError):
    """The choice does not fit the catalogue; the message is Dutch, for the student."""


def _uuid(raw: Any, message: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise ChoiceError(message) from None


NO_CHOICE = {"choice_kind": None, "institution_id": None, "programme_id": None, "other_school_name": None,
             "other_school_city": None}


async def check_choice(conn: asyncpg.Connection, choice: dict[str, str]) -> dict[str, Any]:
    """The dossier columns for a cleaned choice (shared.forms.clean_programme); ChoiceError otherwise."""
    kind = choice["kind"]
    if "school_name" in choice:  # not in the list: stored as typed, treated as not taking part
        return {**NO_CHOICE, "choice_kind": kind, "other_school_name": choice["school_name"],
                "other_school_city": choice.get("school_city")}
    institution_id = _uuid(choice["institution_id"], "Kies een school uit de lijst.")
    try:  # looked up with the school (one statement); a wrong one is refused below, in its turn
        wanted = uuid.UUID(str(choice["programme_id"])) if choice.get("programme_id") else None
    except ValueError:
        wanted = None
    school = await conn.fetchrow(
        """SELECT s.kind, p.programme_id IS NOT NULL AS found, p.crebo, p.offered FROM schools s
           LEFT JOIN programmes p ON p.programme_id = $2 AND p.institution_id = s.school_id
           WHERE s.school_id = $1""", institution_id, wanted)
    if school is None:
        raise ChoiceError("Deze school staat niet in de lijst. Kies een school uit de lijst, of vul de school "
                          "in bij 'Een school die niet in de lijst staat'.")
    if kind == "mbo":
        if school["kind"] != "mbo":
            raise ChoiceError("Kies voor een mbo-opleiding een mbo-instelling.")
        programme_id = _uuid(choice["programme_id"], "Kies een opleiding uit de lijst.")
        programme = school if school["found"] else None
        if programme is None or not programme["offered"]:
            raise ChoiceError("Deze opleiding wordt niet (meer) aangeboden door deze school. Kies een opleiding uit de lijst.")
        if programme["crebo"] != choice["crebo"]:
            raise ChoiceError("Het crebonummer hoort niet bij deze opleiding.")
        return {**NO_CHOICE, "choice_kind": kind, "institution_id": institution_id, "programme_id": programme_id}
    # havo or vmbo: a receiving school of that kind, or (as before receiving schools had kinds) a VO school
    if school["kind"] not in (kind, "vo"):
        raise ChoiceError(f"Kies voor {KIND_LABELS[kind]} een school voor {KIND_LABELS[kind]}.")
    programme_id = None
    if choice.get("programme_id"):
        programme_id = _uuid(choice["programme_id"], "Kies een geldige opleiding.")
        offered = school["found"] and school["crebo"] is None and school["offered"]
        if not offered:
            raise ChoiceError("Dit leerjaar of profiel wordt niet (meer) aangeboden door deze school. Kies er een "
                              "uit de lijst.")
    return {**NO_CHOICE, "choice_kind": kind, "institution_id": institution_id, "programme_id": programme_id}
