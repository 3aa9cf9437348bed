"""The retention rule in dates: school years after the one of completion or leaving, and never
sooner than the notice period after the school was told."""
from __future__ import annotations

from datetime import date

from services.dossier.domain.retention import erase_on, first_erasure, may_erase, notice_due


def test_erasure_comes_after_whole_school_years():
    assert erase_on(date(2026, 3, 10), 2) == date(2028, 8, 1)  # completed in 2025-2026
    assert erase_on(date(2026, 7, 31), 2) == date(2028, 8, 1)
    assert erase_on(date(2026, 8, 1), 2) == date(2029, 8, 1)  # the first day of 2026-2027
    assert erase_on(date(2026, 11, 30), 1) == date(2028, 8, 1)


def test_the_school_is_told_first_and_nothing_goes_before_the_notice_period():
    due = date(2028, 8, 1)
    assert not notice_due(due, date(2028, 7, 1), 30) and notice_due(due, date(2028, 7, 2), 30)
    assert not may_erase(due, None, date(2028, 9, 1), 30)  # never told: never erased
    assert may_erase(due, date(2028, 7, 2), due, 30)
    # a rule made shorter: due long ago, told today, erased a notice period later
    assert not may_erase(due, date(2029, 1, 1), date(2029, 1, 30), 30)
    assert may_erase(due, date(2029, 1, 1), date(2029, 1, 31), 30)
    assert first_erasure(due, date(2029, 1, 1), 30) == date(2029, 1, 31)
