"""The throttle's pure rule: the wait before a next try, per count of failures (the table the
counter's SQL looks the wait up in, so the rule lives in one place)."""
from datetime import timedelta

from services.identity.domain.throttle import Limits


def test_the_waits_double_from_the_soft_limit_up_to_the_maximum_and_stop_at_the_hard_limit():
    limits = Limits(soft=3, hard=9, window=timedelta(minutes=15), block=timedelta(minutes=15), max_delay=10)
    assert limits.delays() == [0, 0, 0, 1, 2, 4, 8, 10, 10]
    assert len(limits.delays()) == limits.hard, "a count of hard or more takes no try at all"
    assert limits.delays() == [limits.delay(n) for n in range(limits.hard)]
