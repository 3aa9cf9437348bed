"""Word searches in SQL: every word of the search must occur."""
from __future__ import annotations


def word_conditions(text_sql: str, q: str | None, args: list) -> list[str]:
    """SQL conditions that every word of ``q`` occurs in ``text_sql`` (lower case); appends the words to ``args``."""
    conditions = []
    for word in (q or "").lower().split():
        args.append(word)
        conditions.append(f"strpos(lower({text_sql}), ${len(args)}) > 0")
    return conditions
