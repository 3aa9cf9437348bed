"""The season bench's plan: schools, classes and phases from N students and the speed-up, and the
numbers it makes for its students (bench/season_plan.py)."""
from __future__ import annotations

import pytest

from bench.season_plan import (
    CAPACITY,
    LOAD,
    NATIONAL,
    WEEK,
    auto_speedup,
    describe,
    plan,
    valid_bsn,
)
from services.identity.domain.bsn import normalize_bsn


def test_the_national_season_has_realistic_schools() -> None:
    p = plan(NATIONAL, 1000)
    assert (p.vo_schools, p.classes, p.mbo_schools) == (150, 3600, 60)
    assert p.fraction == 1
    assert [ph.key for ph in p.phases] == ["a", "b", "c", "d"] and p.weeks == 12
    assert [ph.units for ph in p.phases] == [150, NATIONAL, NATIONAL, NATIONAL]


def test_one_speedup_for_every_phase_gives_the_rates_and_seconds() -> None:
    p = plan(9000, 2400)
    c = p.phase("c")
    assert c.seconds == 6 * WEEK / 2400
    assert c.rate == pytest.approx(9000 / (6 * WEEK / 2400))
    assert p.seconds == pytest.approx(12 * WEEK / 2400)
    assert p.speedup == pytest.approx(2400)


def test_without_a_speedup_each_phase_offers_the_same_share_of_the_machine() -> None:
    for n in (2000, 9000, NATIONAL):
        p = plan(n)
        for ph in p.phases:
            offered = ph.rate / CAPACITY[ph.key]
            assert LOAD * 0.9 <= offered <= LOAD * 1.0001, (n, ph.key, offered)  # rounded down to 2 figures
    assert plan(2000).seconds < plan(9000).seconds < plan(NATIONAL).seconds


def test_auto_speedup_has_two_significant_figures_and_is_at_least_one() -> None:
    s = auto_speedup("c", 9000, 6)
    assert s == float(f"{s:.2g}")
    assert auto_speedup("c", 10**12, 6) == 1.0


def test_every_student_is_in_exactly_one_school_of_nearly_equal_size() -> None:
    p = plan(2000)
    seen = [i for s in range(p.vo_schools) for i in p.students_of(s)]
    assert seen == list(range(2000))
    assert all(p.school_of(i) == s for s in range(p.vo_schools) for i in p.students_of(s))
    sizes = {len(p.students_of(s)) for s in range(p.vo_schools)}
    assert max(sizes) - min(sizes) <= 1


def test_small_seasons_still_have_a_school_and_an_mbo() -> None:
    p = plan(1)
    assert (p.vo_schools, p.classes, p.mbo_schools) == (1, 1, 1)
    with pytest.raises(ValueError):
        plan(0)
    with pytest.raises(ValueError):
        plan(10, 0)


def test_bsns_are_valid_and_all_different() -> None:
    numbers = [valid_bsn(i) for i in range(200_000)]
    assert len(set(numbers)) == len(numbers)
    for bsn in numbers[::97]:
        assert normalize_bsn(bsn) == bsn


def test_the_plan_states_the_fraction_and_the_season_length() -> None:
    text = "\n".join(describe(plan(9000)))
    assert "0.1 of the national 90,000" in text and "12-week season in" in text
    assert "the national season" in "\n".join(describe(plan(NATIONAL)))
