"""The Dutch mails. Each template renders a subject and a plain-text body from a context."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SIGNATURE = "\n\nMet vriendelijke groet,\nDoorstroom – het digitaal doorstroomdossier\n\n" \
            "Dit is een automatisch bericht; je kunt hierop niet antwoorden."


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


def _when(iso: str) -> str:
    moment = datetime.fromisoformat(iso).astimezone(AMSTERDAM)
    return moment.strftime("%d-%m-%Y om %H:%M")


def verification(ctx: dict) -> Mail:
    return Mail(
        subject="Bevestig je e-mailadres voor Doorstroom",
        body=("Hallo,\n\nJe hebt een account aangemaakt voor het digitaal doorstroomdossier. "
              "Klik op de link hieronder om je e-mailadres te bevestigen en een wachtwoord te kiezen:\n\n"
              f"{ctx['verify_url']}\n\n"
              f"De link werkt één keer en is geldig tot {_when(ctx['expires_at'])}. "
              "Heb je dit niet zelf aangevraagd? Dan kun je deze e-mail negeren." + SIGNATURE))


TEMPLATES = {"verification": verification}


def render(template: str, ctx: dict) -> Mail:
    return TEMPLATES[template](ctx)
