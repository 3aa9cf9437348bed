"""The daily digest for MBO staff, as rules: which day a run counts as, and what the mail says.
Only a number of dossiers goes into the mail: never a student's name or anything else about them."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def due_day(now: datetime, hour: int) -> date | None:
    """The day whose digest is due at ``now`` (an aware moment): today in the Netherlands once its
    clock has reached ``hour``, else None (yesterday's was due until midnight)."""
    local = now.astimezone(AMSTERDAM)
    return local.date() if local.hour >= hour else None


def subject(count: int, institution: str | None) -> str:
    what = "1 nieuw doorstroomdossier" if count == 1 else f"{count} nieuwe doorstroomdossiers"
    return f"{what} voor {institution}" if institution else what


def body(*, name: str, count: int, institution: str | None, inbox_url: str, preferences_url: str) -> str:
    where = f" voor {institution}" if institution else ""
    news = ("is er 1 nieuw afgerond doorstroomdossier" if count == 1
            else f"zijn er {count} nieuwe afgeronde doorstroomdossiers")
    return (f"Beste {name},\n\n"
            f"Sinds het vorige overzicht {news}{where} binnengekomen. Je vindt ze in de inbox van het digitaal "
            f"doorstroomdossier:\n\n{inbox_url}\n\n"
            "Wil je dit dagelijkse overzicht niet meer ontvangen? Log in en zet 'Dagelijks overzicht per e-mail' "
            f"uit op:\n{preferences_url}")
