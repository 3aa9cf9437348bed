"""Text that people type, checked where it enters: no control characters.

A newline in a roster name would end up in a mail's Subject header, a NUL character makes
PostgreSQL refuse the row; both are refused at the edge with a clear Dutch message instead.
``SingleLine`` (names, titles, addresses: one line) refuses every control character;
``MultiLine`` (remarks, answers) allows line breaks and tabs and refuses the rest.
"""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_EXCEPT_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

SINGLE_LINE_MESSAGE = "Gebruik geen regeleinden, tabs of andere stuurtekens in dit veld."
MULTI_LINE_MESSAGE = "Deze tekst bevat een stuurteken dat niet is toegestaan."


def single_line_problem(value: str) -> str | None:
    """The Dutch reason why ``value`` is not a valid single line, or None when it is."""
    return SINGLE_LINE_MESSAGE if CONTROL.search(value) else None


def multi_line_problem(value: str) -> str | None:
    return MULTI_LINE_MESSAGE if CONTROL_EXCEPT_BREAKS.search(value) else None


def _single_line(value: str) -> str:
    if (problem := single_line_problem(value)) is not None:
        raise ValueError(problem)
    return value


def _multi_line(value: str) -> str:
    if (problem := multi_line_problem(value)) is not None:
        raise ValueError(problem)
    return value


SingleLine = Annotated[str, AfterValidator(_single_line)]
MultiLine = Annotated[str, AfterValidator(_multi_line)]
