"""A new school year for a school's roster: what happens to each class and to the students who stay
behind. Pure: the classes in, a plan out; the SQL is ``store/school_years.py``.

- A class below the last leerjaar moves up: leerjaar + 1, and a name that starts with its leerjaar
  moves with it ("3a" becomes "4a", "3 kader" "4 kader"; "Kanjers" stays "Kanjers"). Its students,
  mentors and dossiers go with it.
- A class in the last leerjaar (or above) ends: its students leave the school (``left_on``), the class
  is kept under a name with the year it ended ("4a (2025-2026)") so that its name is free for the
  class that moves up into it, and it has no mentors any more.
- A student who stays behind ("blijft zitten") keeps their leerjaar and goes to the class that will
  have their class's name and leerjaar after the change (the class that moves up into it), or to a
  new class with that name when there is none ("4a" in the last year: the former "3a").
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

from shared.forms.model import start_year

ALLOWED_FROM = (6, 1)  # a new school year can be started from 1 June of the year it begins in


@dataclass(frozen=True)
class ClassNow:
    class_id: uuid.UUID
    name: str
    leerjaar: int
    students: int


@dataclass(frozen=True)
class ClassStep:
    class_id: uuid.UUID
    name: str
    leerjaar: int
    students: int
    to_name: str  # the name after the change (an ended class: its name with the year)
    to_leerjaar: int
    ends: bool


def next_school_year(school_year: str) -> str:
    first = start_year(school_year) + 1
    return f"{first}-{first + 1}"


def allowed_from(to_school_year: str) -> date:
    """The first day a school may start ``to_school_year``."""
    return date(start_year(to_school_year), *ALLOWED_FROM)


def moved_name(name: str, leerjaar: int) -> str:
    """The name of a class one leerjaar up: a leading leerjaar goes up with it ("3a" -> "4a")."""
    match = re.match(rf"^{leerjaar}(?!\d)", name)
    return f"{leerjaar + 1}{name[match.end():]}" if match else name


def ended_name(name: str, school_year: str) -> str:
    return f"{name} ({school_year})"


def plan_classes(classes: list[ClassNow], final_leerjaar: int, school_year: str) -> list[ClassStep]:
    """Each class's step, highest leerjaar first (``school_year``: the year that ends)."""
    steps = []
    for c in sorted(classes, key=lambda c: (-c.leerjaar, c.name)):
        if c.leerjaar >= final_leerjaar:
            steps.append(ClassStep(c.class_id, c.name, c.leerjaar, c.students, ended_name(c.name, school_year),
                                   c.leerjaar, True))
        else:
            steps.append(ClassStep(c.class_id, c.name, c.leerjaar, c.students, moved_name(c.name, c.leerjaar),
                                   c.leerjaar + 1, False))
    return steps


def name_conflicts(steps: list[ClassStep]) -> list[str]:
    """Names two classes would have after the change (the school admin renames one first)."""
    seen: dict[str, int] = {}
    for s in steps:
        seen[s.to_name] = seen.get(s.to_name, 0) + 1
    return sorted(n for n, count in seen.items() if count > 1)


def stay_behind_class(steps: list[ClassStep], name: str, leerjaar: int) -> uuid.UUID | None:
    """The class a student of class ``name`` (``leerjaar``) who stays behind goes to: the one that has
    that name and leerjaar after the change; None: a new class with that name is made."""
    for s in steps:
        if not s.ends and s.to_name == name and s.to_leerjaar == leerjaar:
            return s.class_id
    return None


def new_class_name(steps: list[ClassStep], name: str, leerjaar: int) -> str:
    """The name of a new class for students who stay behind: the old name, unless a class that moves
    up keeps it ("Kanjers" in leerjaar 4): then with the leerjaar."""
    taken = {s.to_name for s in steps if not s.ends}
    return name if name not in taken else f"{name} (leerjaar {leerjaar})"
