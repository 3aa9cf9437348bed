"""How far a dossier is: the percentage of the step it is in, and which dossier is furthest.

Pure logic over the form definitions (shared.forms): part A counts in part_a, part B (both parts
together) in part_b; the agreement step is 0% until completion, completed is 100%.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.forms.model import Form, part_progress

STATE_RANK = {"part_a": 0, "part_b": 1, "agreement": 2, "completed": 3}


def step_progress(state: str, part_a: Form, part_b: Form, answers: Mapping[str, Mapping[str, Any]]) -> int:
    """`answers` maps section ids of both forms to their answers."""
    if state == "part_a":
        return part_progress(part_a, "part_a", answers)
    if state == "part_b":
        return part_progress(part_b, "part_b", answers)
    return 100 if state == "completed" else 0


def furthest_key(state: str, progress: int) -> tuple[int, int]:
    """Sort key: the dossier with the highest key is the furthest."""
    return STATE_RANK[state], progress
