"""What the view modules share: ids from the path (a malformed one is a page that does not exist)
and paging of lists."""
from __future__ import annotations

import math
import uuid

from aiohttp import web


def valid_id(value: str) -> str:
    """``value`` as a canonical UUID; 404 when it is none."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise web.HTTPNotFound() from None


def page_number(request: web.Request) -> int:
    try:
        return max(1, min(10_000, int(request.query.get("pagina", "1"))))
    except ValueError:
        return 1


def paged(data: dict | list, number: int, size: int, key: str = "items") -> tuple[list, dict]:
    """Items and pager facts: from a paged answer ({total, <key>: [...]}), or a whole list paged here."""
    if isinstance(data, list):
        items, total = data[(number - 1) * size: number * size], len(data)
    else:
        items = data.get(key, [])
        total = int(data.get("total", len(items)))
    return items, {"number": number, "pages": max(1, math.ceil(total / size)), "total": total}
