"""The history of a dossier as people read it: a student or mentor saves a section many times in a
row, and one line per save buries what happened. Consecutive saves of the same kind by the same
person become one line, with how many saves and from when to when."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# the actions that happen once per section save; everything else (sent, reset, archived...) is
# always a line of its own
SAVES = frozenset({"part_a_saved", "part_b_saved", "agreement_saved"})


def _who(entry: Mapping[str, Any]) -> tuple[Any, Any]:
    return entry.get("by"), entry.get("by_role")


def grouped(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The history lines (in the order given, oldest first) with consecutive saves by one person
    taken together: each line has ``count`` (1 for a single event), ``first_at`` and ``last_at``."""
    lines: list[dict[str, Any]] = []
    for entry in entries:
        last = lines[-1] if lines else None
        if (last is not None and entry.get("action") in SAVES and last.get("action") == entry.get("action")
                and _who(last) == _who(entry)):
            last["count"] += 1
            last["last_at"] = entry.get("at")
            continue
        lines.append({**entry, "count": 1, "first_at": entry.get("at"), "last_at": entry.get("at")})
    return lines
