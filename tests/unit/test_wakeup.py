"""A wake-up wakes one lane per set(); set_all() wakes every lane (shared/loops.py)."""
from __future__ import annotations

import asyncio

from shared.loops import Wakeup


async def _woken(wakeup: Wakeup, lanes: int, timeout: float) -> int:
    results = await asyncio.gather(*(wakeup.wait(timeout) for _ in range(lanes)))
    return sum(results)


async def test_one_set_wakes_one_of_the_waiting_lanes():
    wakeup = Wakeup()
    wakeup.lanes = 3
    waiting = asyncio.create_task(_woken(wakeup, 3, 0.3))
    await asyncio.sleep(0.05)
    wakeup.set()
    assert await waiting == 1


async def test_wake_ups_for_lanes_not_yet_waiting_are_kept_up_to_the_number_of_lanes():
    wakeup = Wakeup()
    wakeup.lanes = 2
    for _ in range(5):
        wakeup.set()
    assert await _woken(wakeup, 3, 0.1) == 2


async def test_set_all_wakes_every_lane():
    wakeup = Wakeup()
    wakeup.lanes = 4
    waiting = asyncio.create_task(_woken(wakeup, 4, 2))
    await asyncio.sleep(0.05)
    wakeup.set_all()
    assert await waiting == 4
