"""Text that people type, checked where it enters: no control characters.

A newline in a roster name would end up in a mail's Subject header, a NUL character makes
PostgreSQL refuse the row; both are refused at the edge with a clear Dutch message instead.
``SingleLine`` (names, titles, addresses: one line) refuses every control character;
``MultiLine`` (remarks, answers) allows line breaks and tabs and refuses the rest. Neither lets a
lone surrogate through (``"\\ud800"`` in JSON): no UTF-8 can carry it, so it could never be stored.

``JsonText`` is free-form JSON (a section's answers): every key one line, every string in it
multi-line text, checked however deep it is nested (without recursion). ``json_text_problems``
is the same check as a list of (path, message), for a whole request body: what no model checks
(a field the model does not know, an answer inside a free-form object) can still not reach
PostgreSQL with a NUL in it.
"""
from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, EmailStr

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_EXCEPT_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SURROGATE = re.compile(r"[\ud800-\udfff]")

SINGLE_LINE_MESSAGE = "Gebruik geen regeleinden, tabs of andere stuurtekens in dit veld."
MULTI_LINE_MESSAGE = "Deze tekst bevat een stuurteken dat niet is toegestaan."
SURROGATE_MESSAGE = "Deze tekst bevat een ongeldig teken. Typ de tekst opnieuw in plaats van hem te plakken."


def single_line_problem(value: str) -> str | None:
    """The Dutch reason why ``value`` is not a valid single line, or None when it is."""
    if CONTROL.search(value):
        return SINGLE_LINE_MESSAGE
    return SURROGATE_MESSAGE if SURROGATE.search(value) else None


def multi_line_problem(value: str) -> str | None:
    if CONTROL_EXCEPT_BREAKS.search(value):
        return MULTI_LINE_MESSAGE
    return SURROGATE_MESSAGE if SURROGATE.search(value) else None


def _single_line(value: str) -> str:
    if (problem := single_line_problem(value)) is not None:
        raise ValueError(problem)
    return value


def _multi_line(value: str) -> str:
    if (problem := multi_line_problem(value)) is not None:
        raise ValueError(problem)
    return value


def _single_line_before(value: object) -> object:
    """Before a format check (an e-mail address), so that a control character gets the message
    that says what is wrong."""
    if isinstance(value, str):
        _single_line(value)
    return value


class _Documented:
    """Says in the JSON schema (OpenAPI) which characters a text may hold, as a ``pattern``; the
    check itself is the validator beside it (with its Dutch message). A field with a pattern of
    its own (a BRIN number) keeps that one: it is stricter."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        target.setdefault("pattern", self.pattern)
        return schema


SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
MULTI_LINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

SingleLine = Annotated[str, AfterValidator(_single_line), _Documented(SINGLE_LINE_PATTERN)]
MultiLine = Annotated[str, AfterValidator(_multi_line), _Documented(MULTI_LINE_PATTERN)]
Email = Annotated[EmailStr, BeforeValidator(_single_line_before)]


def json_text_problems(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(path, Dutch message) for every key that is not one clean line and every string that is not
    clean multi-line text, anywhere in ``data`` (parsed JSON). Iterative: any depth is fine."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [(prefix, data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if (problem := multi_line_problem(value)) is not None:
                found.append((path or "(body)", problem))
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and (problem := single_line_problem(key)) is not None:
                    found.append((f"{path}.(naam)" if path else "(naam)", problem))
                    where = f"{path}.?" if path else "?"
                stack.append((where, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item) for i, item in enumerate(value))
    found.sort()
    return found


def _json_text(value: Any) -> Any:
    if problems := json_text_problems(value):
        path, message = problems[0]
        raise ValueError(message if path in ("", "(body)") else f"{message} ({path})")
    return value


JsonText = Annotated[Any, AfterValidator(_json_text)]
