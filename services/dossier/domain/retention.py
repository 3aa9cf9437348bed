"""The retention rule in dates (pure; the run: ``services/dossier/retention.py``).

A school keeps a completed dossier, and the data of a student who left, for ``years`` school years
(its setting, default 2) after the school year in which the dossier was completed or the student
left; on the first day after that (1 August) it may be erased. The school is told beforehand, and
nothing is erased sooner than ``notice_days`` after that notice: when a school shortens its rule, the
erasure waits for the notice period too. The SQL function ``retention_due`` (migration 006) is the
same rule as ``erase_on``.
"""
from __future__ import annotations

from datetime import date, timedelta

from shared.forms.model import school_year_on, start_year

DEFAULT_YEARS = 2


def erase_on(day: date, years: int) -> date:
    """The first day something completed (or left) on ``day`` may be erased."""
    return date(start_year(school_year_on(day)) + 1 + years, 8, 1)


def notice_due(due_on: date, today: date, notice_days: int) -> bool:
    """Whether the school is to be told now (the erasure comes within the notice period)."""
    return due_on - timedelta(days=notice_days) <= today


def may_erase(due_on: date, noticed_on: date | None, today: date, notice_days: int) -> bool:
    """Due, and the school was told at least ``notice_days`` ago."""
    return noticed_on is not None and due_on <= today and noticed_on + timedelta(days=notice_days) <= today


def first_erasure(due_on: date, noticed_on: date, notice_days: int) -> date:
    return max(due_on, noticed_on + timedelta(days=notice_days))
