"""The follow-up choice of part A checked against the catalogue in the read model."""
from __future__ import annotations

import uuid
from typing import Any

import asyncpg


class ChoiceError(ValueError):
    """The choice does not fit the catalogue; the message is Dutch, for the student."""


def _uuid(raw: Any, message: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise ChoiceError(message) from None


async def check_choice(conn: asyncpg.Connection, choice: dict[str, str]) -> dict[str, Any]:
    """The dossier columns for a cleaned choice (shared.forms.clean_programme); ChoiceError otherwise."""
    kind = choice["kind"]
    institution_id = _uuid(choice["institution_id"], "Kies een school uit de lijst.")
    school = await conn.fetchrow("SELECT kind FROM schools WHERE school_id = $1", institution_id)
    if school is None:
        raise ChoiceError("Deze school staat niet in de lijst. Kies een school uit de lijst.")
    if kind == "mbo":
        if school["kind"] != "mbo":
            raise ChoiceError("Kies voor een mbo-opleiding een mbo-instelling.")
        programme_id = _uuid(choice["programme_id"], "Kies een opleiding uit de lijst.")
        programme = await conn.fetchrow(
            "SELECT crebo, offered FROM programmes WHERE programme_id = $1 AND institution_id = $2",
            programme_id, institution_id)
        if programme is None or not programme["offered"]:
            raise ChoiceError("Deze opleiding wordt niet (meer) aangeboden door deze school. Kies een opleiding uit de lijst.")
        if programme["crebo"] != choice["crebo"]:
            raise ChoiceError("Het crebonummer hoort niet bij deze opleiding.")
        return {"choice_kind": kind, "institution_id": institution_id, "programme_id": programme_id}
    if school["kind"] != "vo":
        raise ChoiceError("Kies voor havo of vmbo een school voor voortgezet onderwijs.")
    return {"choice_kind": kind, "institution_id": institution_id, "programme_id": None}
