"""What a visitor sends, checked before any page handles it: no form field, query parameter or
path carries a control character (a NUL would make PostgreSQL refuse a statement, a line break in a
name would end up in a mail header). Form fields may hold line breaks and tabs (a textarea); the
services behind the portal check per field which text must be one line. A refusal is a Dutch page
that says which field to correct, and nothing is saved."""
from __future__ import annotations

from aiohttp import web

from services.portal.render import render
from shared.text import multi_line_problem, single_line_problem

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_JSON_PATHS = ("/healthz", "/readyz", "/openapi.json")


def _field(name: str) -> str:
    return f"het veld ‘{name}’" if single_line_problem(name) is None and len(name) <= 60 else "een van de velden"


async def _refusal(request: web.Request) -> str | None:
    """What is wrong with the request's text, in Dutch, or None."""
    for name, value in request.query.items():
        if single_line_problem(name) is not None or single_line_problem(value) is not None:
            return (f"Het adres van deze pagina bevat in {_field(name)} een teken dat niet is toegestaan "
                    "(een regeleinde of ander stuurteken). Gebruik de links in Doorstroom in plaats van het adres "
                    "te typen.")
    if request.method == "POST" and request.content_type in _FORMS:
        form = await request.post()
        for name, value in form.items():
            if not isinstance(value, str):
                continue  # an uploaded file: its own checks read it
            if single_line_problem(name) is not None or multi_line_problem(value) is not None:
                return (f"In {_field(name)} staat een teken dat niet is toegestaan (een stuurteken, zoals een "
                        "NUL-teken). Ga terug, typ de tekst opnieuw in plaats van hem te plakken, en verstuur het "
                        "formulier nog eens. Er is niets opgeslagen.")
    return None


@web.middleware
async def input_middleware(request: web.Request, handler):
    if request.path in _JSON_PATHS or request.path.startswith("/static/"):
        return await handler(request)
    if single_line_problem(request.path) is not None:
        return await render(request, "error.html", {
            "title": "Niet gevonden", "message": "Deze pagina bestaat niet, of je mag hem niet bekijken."},
            status=404)
    if (message := await _refusal(request)) is not None:
        return await render(request, "error.html", {"title": "Controleer de invoer", "message": message},
                            status=422)
    return await handler(request)
