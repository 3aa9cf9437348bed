"""The throttle's pure rule: the wait before a next try, per count of failures (the counter's SQL
computes the same: tests/integration/identity/test_throttle_sql.py)."""
from datetime import timedelta

from services.identity.domain.throttle import Limits


def test_the_waits_double_from_the_soft_limit_up_to_the_maximum():
    limits = Limits(soft=3, hard=9, window=timedelta(minutes=15), block=timedelta(minutes=15), max_delay=10)
    assert [limits.delay(n) for n in range(limits.hard)] == [0, 0, 0, 1, 2, 4, 8, 10, 10]


def test_a_limit_of_millions_costs_nothing_and_does_not_overflow():
    limits = Limits(soft=1, hard=10_000_000, window=timedelta(minutes=15), block=timedelta(minutes=15),
                    max_delay=60)
    assert limits.delay(5_000_000) == 60
