"""Account pages: make an account (BSN + e-mail), follow the mailed link and choose a password,
log in and out, forgotten password, staff invitation."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

from aiohttp import web

from services.portal import api_identity, backend, sessions
from services.portal.backend import ApiError
from services.portal.render import HOME_BY_ROLE, flash, redirect, render

routes = web.RouteTableDef()
LOGIN_FAILED = "Het e-mailadres of het wachtwoord klopt niet."
MIN_PASSWORD = 12


def _text(form, name: str, limit: int = 254) -> str:
    return str(form.get(name, "")).strip()[:limit]


@routes.get("/inloggen")
async def login_page(request: web.Request) -> web.Response:
    session = sessions.current(request)
    if session is not None and session.logged_in:
        raise redirect(HOME_BY_ROLE.get(session.principal.role, "/"))
    return await render(request, "login.html", {"title": "Inloggen", "values": {}, "errors": {}})


@routes.post("/inloggen")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    email, password = _text(form, "email"), str(form.get("password", ""))[:1024]
    errors = {}
    if not email:
        errors["email"] = "Vul je e-mailadres in."
    if not password:
        errors["password"] = "Vul je wachtwoord in."
    if not errors:
        try:
            tokens = await api_identity.log_in(request, email, password)
        except ApiError as err:
            message = err.detail if err.status == 429 or err.code == "account-inactive" else LOGIN_FAILED
            return await render(request, "login.html", {"title": "Inloggen", "values": {"email": email},
                                                        "errors": {}, "failed": message}, status=400)
        principal = await backend.principal_from(request, tokens["access_token"])
        old = sessions.current(request)
        after = old.get("after_login") if old else None
        session = await sessions.log_in(request, principal, tokens)
        try:  # the name to show in the header (the token may not carry it)
            me = await api_identity.me(request)
            session.put("display_name", me.get("name") or "")
            if me.get("notice"):  # e.g. a student's BSN claim was released: another account redeemed the code
                flash(request, me["notice"], "info")
        except (ApiError, backend.BackendDown):
            pass
        home = HOME_BY_ROLE.get(principal.role, "/")
        target = after if isinstance(after, str) and (after.startswith(home) or after.startswith("/dossiers/")) else home
        raise redirect(target)
    return await render(request, "login.html", {"title": "Inloggen", "values": {"email": email},
                                                "errors": errors}, status=400)


@routes.post("/uitloggen")
async def logout(request: web.Request) -> web.Response:
    session = sessions.current(request)
    if session is not None and session.logged_in:
        try:
            await api_identity.log_out(request, session.access_token, session.refresh_token)
        except (ApiError, backend.BackendDown):
            pass  # the portal session ends in any case; the tokens expire by themselves
    await sessions.log_out(request)
    await sessions.ensure(request)
    flash(request, "Je bent uitgelogd.", "success")
    raise redirect("/")


@routes.get("/account/nieuw")  # the address in the activation-code mails and letters
@routes.get("/account/maken")
async def register_page(request: web.Request) -> web.Response:
    return await render(request, "register.html", {"title": "Maak een nieuw account", "values": {},
                                                   "errors": {}})


@routes.post("/account/maken")
async def register(request: web.Request) -> web.Response:
    form = await request.post()
    bsn = "".join(ch for ch in _text(form, "bsn", 40) if ch.isdigit())
    email = _text(form, "email")
    errors = {}
    if len(bsn) not in (8, 9):
        errors["bsn"] = "Een BSN bestaat uit 9 cijfers."
    if "@" not in email:
        errors["email"] = "Vul een geldig e-mailadres in, bijvoorbeeld naam@voorbeeld.nl."
    if not errors:
        try:
            await api_identity.register(request, bsn, email)
        except ApiError as err:
            errors = err.field_errors() or {"email": err.detail}
        else:
            return await render(request, "check_mail.html", {"title": "Kijk in je e-mail"})
    return await render(request, "register.html", {"title": "Maak een nieuw account",
                                                   "values": {"email": email}, "errors": errors}, status=400)


@routes.get("/account/wachtwoord-vergeten")  # the address in identity's mails
@routes.get("/wachtwoord-vergeten")
async def forgot_page(request: web.Request) -> web.Response:
    return await render(request, "forgot.html", {"title": "Wachtwoord vergeten", "values": {}, "errors": {}})


@routes.post("/wachtwoord-vergeten")
async def forgot(request: web.Request) -> web.Response:
    form = await request.post()
    email = _text(form, "email")
    if "@" not in email:
        return await render(request, "forgot.html", {
            "title": "Wachtwoord vergeten", "values": {"email": email},
            "errors": {"email": "Vul een geldig e-mailadres in, bijvoorbeeld naam@voorbeeld.nl."}}, status=400)
    try:
        await api_identity.forgot_password(request, email)
    except ApiError as err:
        if err.status == 422:
            return await render(request, "forgot.html", {
                "title": "Wachtwoord vergeten", "values": {"email": email},
                "errors": {"email": err.field_errors().get("email", err.detail)}}, status=400)
        if err.status != 429:
            raise
    return await render(request, "check_mail.html", {"title": "Kijk in je e-mail", "reset": True})


# -- links from mails: the token goes from the URL into the session at once ------------------------

@dataclass(frozen=True)
class TokenPage:
    path: str
    key: str
    title: str
    button: str
    done: str
    complete: Callable[[web.Request, str, str], Awaitable[object]]


async def _complete_registration(request: web.Request, token: str, password: str) -> object:
    return await api_identity.complete_registration(request, token, password)


PAGES = [
    TokenPage("/account/verifieren", "verify_token", "Kies je wachtwoord", "Account activeren",
              "Je account is klaar. Log in met je e-mailadres en je nieuwe wachtwoord.",
              _complete_registration),
    TokenPage("/account/wachtwoord-herstellen", "reset_token", "Kies een nieuw wachtwoord", "Wachtwoord opslaan",
              "Je wachtwoord is veranderd. Log in met je nieuwe wachtwoord.", api_identity.reset_password),
    TokenPage("/account/uitnodiging", "invite_token", "Kies je wachtwoord", "Account activeren",
              "Je account is klaar. Log in met je e-mailadres en je nieuwe wachtwoord.",
              api_identity.accept_invitation),
]


def _token_routes(page: TokenPage) -> None:
    async def show(request: web.Request) -> web.Response:
        token = request.query.get("token")
        if token:
            session = await sessions.ensure(request)
            session.put(page.key, token[:512])
            raise redirect(page.path)  # the token leaves the address bar and the history
        session = sessions.current(request)
        if session is None or not session.get(page.key):
            return await _expired(request)
        return await render(request, "set_password.html", {"title": page.title, "button": page.button,
                                                           "action": page.path, "errors": {}})

    async def submit(request: web.Request) -> web.Response:
        session = sessions.current(request)
        token = session.get(page.key) if session else None
        if not token:
            return await _expired(request)
        form = await request.post()
        password, repeat = str(form.get("password", ""))[:1024], str(form.get("password_repeat", ""))[:1024]
        errors = {}
        if len(password) < MIN_PASSWORD:
            errors["password"] = f"Je wachtwoord moet minstens {MIN_PASSWORD} tekens hebben."
        elif password != repeat:
            errors["password_repeat"] = "De twee wachtwoorden zijn niet hetzelfde."
        if not errors:
            try:
                await page.complete(request, token, password)
            except ApiError as err:
                if err.status == 422 and (err.field_errors().get("password") or not err.field_errors()):
                    errors["password"] = err.field_errors().get("password", err.detail)
                elif err.status in (400, 404, 409, 410, 422):
                    session.pop(page.key)
                    return await _expired(request)
                else:
                    raise
            else:
                session.pop(page.key)
                flash(request, page.done, "success")
                raise redirect("/inloggen")
        return await render(request, "set_password.html", {"title": page.title, "button": page.button,
                                                           "action": page.path, "errors": errors}, status=400)

    routes.get(page.path)(show)
    routes.post(page.path)(submit)


async def _expired(request: web.Request) -> web.Response:
    return await render(request, "link_expired.html", {"title": "Link verlopen"}, status=410)


for _page in PAGES:
    _token_routes(_page)
