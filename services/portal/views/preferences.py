"""E-mailmeldingen, for MBO staff: the daily digest of new completed dossiers ("Dagelijks overzicht
per e-mail") on or off. Identity stores the choice on the staff record and tells the notification
service (identity.staff_changed), which sends the digest; the link in every digest mail leads here."""
from __future__ import annotations

from aiohttp import web

from services.portal import api_identity, backend
from services.portal.render import flash, redirect, render

routes = web.RouteTableDef()
PATH = "/account/meldingen"
LABEL = "Dagelijks overzicht per e-mail"
CHOICES = [("on", "Aan: stuur me elke ochtend een e-mail als er nieuwe dossiers zijn"),
           ("off", "Uit: ik kijk zelf in de inbox")]


async def _page(request: web.Request, value: str | None, error: str | None = None, status: int = 200):
    return await render(request, "preferences.html", {"title": "E-mailmeldingen", "label": LABEL,
                                                      "choices": CHOICES, "value": value, "error": error},
                        status=status)


@routes.get(PATH)
async def page(request: web.Request) -> web.Response:
    backend.logged_in(request, "mbo_staff")
    me = await api_identity.me(request)
    return await _page(request, "off" if me.get("daily_digest") is False else "on")


@routes.post(PATH)
async def save(request: web.Request) -> web.Response:
    backend.logged_in(request, "mbo_staff")
    form = await request.post()
    choice = str(form.get("daily_digest", ""))[:8]
    if choice not in ("on", "off"):
        return await _page(request, None, "Kies of je het dagelijks overzicht wilt ontvangen.", 400)
    await api_identity.set_preferences(request, choice == "on")
    flash(request, "Je krijgt elke ochtend een overzicht als er nieuwe dossiers zijn." if choice == "on"
          else "Je krijgt geen dagelijks overzicht meer per e-mail.", "success")
    raise redirect(PATH)
