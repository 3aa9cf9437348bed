"""How far a dossier is: the percentage of the step it is in, and which dossier is furthest.

Pure logic over the form definitions (shared.forms): part A counts in part_a, part B (both parts
together) in part_b; the agreement step is 0% until completion, completed is 100%.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.forms.model import (
    Form,
    is_answered,
    is_required,
    part_progress,
    validate_section,
)

STATE_RANK = {"part_a": 0, "part_b": 1, "agreement": 2, "completed": 3}


class Progress:
    """The percentages of one dossier's answers, each section validated once: the sections' own
    (``section``, as shared.forms.section_progress) and the step's (``step``, as ``step_progress``).
    A dossier view asks for both, which validated every section twice."""

    def __init__(self, part_a: Form, part_b: Form, answers: Mapping[str, Mapping[str, Any]]) -> None:
        self.part_a, self.part_b, self.answers = part_a, part_b, answers
        self._counts: dict[tuple[int, str], tuple[int, int]] = {}

    def counts(self, form: Form, section_id: str) -> tuple[int, int]:
        """(required fields, answered required fields) of a section, by the form's rules."""
        key = (id(form), section_id)
        if key not in self._counts:
            cleaned, _ = validate_section(form, section_id, self.answers.get(section_id, {}))
            required = [f for f in form.section(section_id).fields if is_required(f, cleaned)]
            self._counts[key] = (len(required), sum(1 for f in required if is_answered(cleaned.get(f.id))))
        return self._counts[key]

    def section(self, form: Form, section_id: str) -> int:
        required, answered = self.counts(form, section_id)
        return 100 if required == 0 else answered * 100 // required

    def step(self, state: str) -> int:
        if state not in ("part_a", "part_b"):
            return 100 if state == "completed" else 0
        form = self.part_a if state == "part_a" else self.part_b
        required = answered = 0
        for section in form.sections_of(state):
            r, a = self.counts(form, section.id)
            required, answered = required + r, answered + a
        return 100 if required == 0 else answered * 100 // required


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
