"""How tries slow down and then block a key (pure; the counters live in ``store/throttle.py``).

Every try is counted before it is checked (a try in flight counts as a failure until it turns out
right), so tries made at the same moment count one by one. From ``soft`` counted tries within a
window on, each next try must wait a growing delay after the last one (1 s, 2 s, 4 s, ... up to
``max_delay``); with ``hard`` counted the key takes no more tries, and a failure then blocks it for
``block``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Limits:
    soft: int
    hard: int
    window: timedelta
    block: timedelta
    max_delay: float

    def delay(self, failures: int) -> float:
        if failures < self.soft:
            return 0.0
        # the counter's SQL computes the same (store/throttle.py _RESERVE); capped exponent, so a
        # limit of millions (a school's whole network behind one address) costs nothing
        return min(self.max_delay, 2.0 ** min(failures - self.soft, 60))
