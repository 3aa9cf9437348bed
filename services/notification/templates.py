"""The Dutch mails. Each template renders a subject and a plain-text body from a context; the
templates live beside the handlers of the events that ask for them (``on_<producer>.py``)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable
from zoneinfo import ZoneInfo

from shared.sealing import reveal_all

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SIGNATURE = ("\n\nMet vriendelijke groet,\nDoorstroom – het digitaal doorstroomdossier\n\n"
             "Dit is een automatisch bericht; je kunt hierop niet antwoorden.")


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


TEMPLATES: dict[str, Callable[[dict], Mail]] = {}


def template(name: str):
    """Decorator: registers a function ``ctx -> Mail`` under ``name``."""
    def register(fn: Callable[[dict], Mail]) -> Callable[[dict], Mail]:
        if name in TEMPLATES:
            raise ValueError(f"mail template {name} registered twice")
        TEMPLATES[name] = fn
        return fn
    return register


def when(iso: str) -> str:
    """An ISO moment as Dutch local time: 29-11-2026 om 14:05."""
    return datetime.fromisoformat(iso).astimezone(AMSTERDAM).strftime("%d-%m-%Y om %H:%M")


def day(iso: str) -> str:
    return date.fromisoformat(iso[:10]).strftime("%d-%m-%Y")


def render(name: str, ctx: dict) -> Mail:
    """The mail of a delivery; sealed values of its context (links, codes) are opened here, for the
    mail only: the delivery row keeps them sealed."""
    from services.notification import handlers  # noqa: F401  (registers every template)

    return TEMPLATES[name](reveal_all(ctx))
