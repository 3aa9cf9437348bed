"""How failures slow down and then block a key (pure; the counters live in ``store/throttle.py``).

From ``soft`` failures within a window on, each next try must wait a growing delay after the last
failure (1 s, 2 s, 4 s, ... up to ``max_delay``); at ``hard`` failures the key is blocked for
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
        return min(self.max_delay, 2.0 ** (failures - self.soft))
