"""The open-loop generator measures from the intended send time: a stall of the sender (or of the
system it drives) shows in the latency of every request meant to leave during it, instead of
silently delaying them (coordinated omission)."""
from __future__ import annotations

import asyncio
import time

import pytest

from bench.openloop import RateResult, at_rate, parse_rates, summarize


@pytest.mark.asyncio
async def test_requests_are_meant_to_leave_at_the_fixed_rate() -> None:
    async def fire(i: int) -> None:
        return None
    run = await at_rate(fire, rate=200, seconds=0.1)
    assert len(run.intended) == 20 and run.errors == 0
    gaps = [b - a for a, b in zip(run.intended, run.intended[1:])]
    assert all(abs(g - 1 / 200) < 1e-6 for g in gaps)


@pytest.mark.asyncio
async def test_a_stall_counts_for_every_request_meant_to_leave_during_it() -> None:
    stall = 0.3

    async def fire(i: int) -> None:
        if i == 2:
            time.sleep(stall)  # blocks the whole loop, as an overloaded sender would
    run = await at_rate(fire, rate=100, seconds=0.1)
    result = summarize(run)
    # request 3 was meant to leave 10 ms after request 2 but could only leave after the stall
    assert run.latencies()[3] >= stall - 0.011
    assert result.max >= stall - 0.011 and result.completed == 10


@pytest.mark.asyncio
async def test_work_completed_elsewhere_is_timed_by_its_completion_and_missing_work_is_not_done() -> None:
    async def fire(i: int) -> None:
        return None
    run = await at_rate(fire, rate=100, seconds=0.05)
    completions = {i: t + 0.5 for i, t in enumerate(run.intended) if i != 0}
    result = summarize(run, completions)
    assert result.sent == 5 and result.completed == 4
    assert abs(result.p50 - 0.5) < 1e-9 and not result.meets(1000)


@pytest.mark.asyncio
async def test_failures_are_counted_and_fail_the_target() -> None:
    async def fire(i: int) -> None:
        if i % 2:
            raise RuntimeError("503")
    result = summarize(await at_rate(fire, rate=100, seconds=0.04))
    assert result.errors == 2 and result.completed == 2 and not result.meets(10_000)


@pytest.mark.asyncio
async def test_a_slow_answer_does_not_hold_back_the_next_request() -> None:
    started: list[float] = []

    async def fire(i: int) -> None:
        started.append(time.monotonic())
        await asyncio.sleep(0.5 if i == 0 else 0)
    await at_rate(fire, rate=100, seconds=0.05)
    assert started[-1] - started[0] < 0.5


def test_rates_are_positive_numbers() -> None:
    assert parse_rates("10, 50,100") == [10, 50, 100]
    for bad in ("", "0", "-5", "ten"):
        with pytest.raises(ValueError):
            parse_rates(bad)


def test_the_target_needs_every_request_done() -> None:
    r = RateResult(rate=10, sent=10, completed=10, errors=0, achieved=10, p50=0.01, p99=0.04, p999=0.05,
                   max=0.05, late_starts=0)
    assert r.meets(50) and not r.meets(30)
