"""Errors are answers: RFC 9457 problem details with a Dutch message a person can act on."""
from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import ValidationError

PROBLEM_TYPE = "application/problem+json"

TITLES = {
    400: "Ongeldig verzoek", 401: "Niet ingelogd", 403: "Geen toegang", 404: "Niet gevonden",
    405: "Methode niet toegestaan", 409: "Niet toegestaan in deze stap", 410: "Verlopen",
    412: "Gegevens zijn intussen gewijzigd", 413: "Te groot", 415: "Verkeerd formaat",
    422: "Controleer de invoer", 428: "Versie ontbreekt", 429: "Te veel pogingen",
    500: "Er ging iets mis", 503: "Tijdelijk niet beschikbaar",
}


class Problem(Exception):
    """Raise anywhere in a request: the middleware answers it as problem+json."""

    def __init__(self, status: int, detail: str, *, title: str | None = None, code: str | None = None,
                 errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail
        self.title = title or TITLES.get(status, "Fout")
        self.code, self.errors, self.headers, self.extra = code, errors, headers or {}, extra

    def response(self, instance: str | None = None) -> web.Response:
        body: dict[str, Any] = {"type": f"https://doorstroom.nl/problemen/{self.code or self.status}",
                                "title": self.title, "status": self.status, "detail": self.detail}
        if instance:
            body["instance"] = instance
        if self.code:
            body["code"] = self.code
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return web.Response(status=self.status, text=json.dumps(body, ensure_ascii=False),
                            content_type=PROBLEM_TYPE, headers=self.headers)


_TYPE_NAMES = {"string": "tekst", "int": "een geheel getal", "float": "een getal", "bool": "ja of nee",
               "dict": "een object", "list": "een lijst", "uuid": "een geldige id", "date": "een datum",
               "datetime": "een tijdstip", "model": "een object"}


NULL_MESSAGE = "Leeg (null) kan hier niet: laat het veld weg of vul een waarde in."


def dutch_message(err: dict[str, Any]) -> str:
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "missing":
        return "Dit veld is verplicht."
    if err.get("input", ...) is None and (kind.endswith("_type") or kind in ("literal_error", "enum")):
        return NULL_MESSAGE
    if kind == "extra_forbidden":
        return "Dit veld is onbekend."
    if kind == "string_too_short":
        return f"Te kort: minimaal {ctx.get('min_length')} tekens."
    if kind == "string_too_long":
        return f"Te lang: maximaal {ctx.get('max_length')} tekens."
    if kind == "too_short":
        return f"Te weinig: minimaal {ctx.get('min_length')}."
    if kind == "too_long":
        return f"Te veel: maximaal {ctx.get('max_length')}."
    if kind == "string_pattern_mismatch":
        return "Deze waarde heeft niet de juiste vorm."
    if kind in ("greater_than_equal", "greater_than"):
        return f"Moet minimaal {ctx.get('ge', ctx.get('gt'))} zijn."
    if kind in ("less_than_equal", "less_than"):
        return f"Mag maximaal {ctx.get('le', ctx.get('lt'))} zijn."
    if kind in ("literal_error", "enum"):
        return f"Kies een van: {ctx.get('expected', '')}."
    if kind == "value_error" and "email" in str(err.get("msg", "")).lower():
        return "Dit is geen geldig e-mailadres."
    if kind == "value_error":
        reason = str(ctx.get("error", "")) or err.get("msg", "")
        return reason if reason and reason[0].isupper() and " " in reason else "Deze waarde is ongeldig."
    for prefix, name in _TYPE_NAMES.items():
        if kind.startswith(prefix + "_") or kind == prefix + "_type":
            return f"Verwacht {name}."
    return "Deze waarde is ongeldig."


def invalid_input(errors: list[dict[str, str]]) -> Problem:
    """422 with a Dutch message per field: ``[{"field": ..., "message": ...}]``."""
    return Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input", errors=errors)


def validation_problem(exc: ValidationError) -> Problem:
    errors = [{"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": dutch_message(e)}
              for e in exc.errors(include_url=False)]
    return invalid_input(errors)
