"""Typed application keys of the dossier service and small accessors for handlers."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from services.dossier.settings import DossierSettings
from shared.app import SETTINGS
from shared.forms.model import Form, get_form, school_year_on

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
PARENT_SECRET = web.AppKey("parent_link_secret", bytes)


def settings_of(app: web.Application) -> DossierSettings:
    settings = app[SETTINGS]
    assert isinstance(settings, DossierSettings)
    return settings


def today() -> date:
    """The day in the Netherlands: ages, school years and 'once a day' are counted in it."""
    return datetime.now(AMSTERDAM).date()


def current_school_year(app: web.Application) -> str:
    return settings_of(app).school_year or school_year_on(today())


def forms_for(form_version: str, part_b_form_version: str | None = None) -> tuple[Form, Form]:
    return get_form("part_a", form_version), get_form("part_b", part_b_form_version or form_version)


def dossier_url(app: web.Application, dossier_id) -> str:
    return f"{settings_of(app).public_base_url.rstrip('/')}/dossiers/{dossier_id}"


def now() -> datetime:
    return datetime.now(UTC)
