"""Wachtwoord wijzigen, for everyone who is logged in: the current password, the new one twice.
Identity ends the account's other sessions and mails a notice; this session goes on."""
from __future__ import annotations

from aiohttp import web

from services.portal import api_identity, backend, sessions
from services.portal.backend import ApiError
from services.portal.render import HOME_BY_ROLE, flash, redirect, render
from services.portal.views.account import MIN_PASSWORD

routes = web.RouteTableDef()
PATH = "/account/wachtwoord-wijzigen"
LABELS = {"current_password": "Huidig wachtwoord", "new_password": "Nieuw wachtwoord",
          "new_password_repeat": "Herhaal het nieuwe wachtwoord"}


def _logged_in(request: web.Request) -> sessions.Session:
    return backend.logged_in(request)


async def _page(request: web.Request, errors: dict, status: int = 200) -> web.Response:
    return await render(request, "change_password.html", {"title": "Wachtwoord wijzigen", "errors": errors,
                                                          "labels": LABELS}, status=status)


@routes.get(PATH)
async def page(request: web.Request) -> web.Response:
    _logged_in(request)
    return await _page(request, {})


@routes.post(PATH)
async def change(request: web.Request) -> web.Response:
    session = _logged_in(request)
    form = await request.post()
    current, new, repeat = (str(form.get(k, ""))[:1024] for k in LABELS)
    errors = {}
    if not current:
        errors["current_password"] = "Vul je huidige wachtwoord in."
    if len(new) < MIN_PASSWORD:
        errors["new_password"] = f"Je nieuwe wachtwoord moet minstens {MIN_PASSWORD} tekens hebben."
    elif new != repeat:
        errors["new_password_repeat"] = "De twee nieuwe wachtwoorden zijn niet hetzelfde."
    if errors:
        return await _page(request, errors, 400)
    try:
        await api_identity.change_password(request, current, new)
    except ApiError as err:
        if err.status in (422, 429):
            return await _page(request, err.field_errors() or {"current_password": err.detail}, 400)
        raise
    flash(request, "Je wachtwoord is gewijzigd. Op andere apparaten ben je uitgelogd; je krijgt er een e-mail "
                   "over.", "success")
    raise redirect(HOME_BY_ROLE.get(session.principal.role, "/"))
