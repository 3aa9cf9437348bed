"""Pure helpers of the portal bench and the open-loop module: the page/API ratio per rate and the
CPU time of a process tree."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench.openloop import RateResult, cpu_seconds
from bench.portal import ratio_rows


def _result(rate: float, p50: float, p99: float) -> RateResult:
    return RateResult(rate=rate, sent=10, completed=10, errors=0, achieved=rate, p50=p50, p99=p99, p999=p99,
                      max=p99, late_starts=0)


def test_ratio_rows_divide_the_page_by_its_api_calls_at_each_rate() -> None:
    api = [_result(10, 0.004, 0.010), _result(50, 0.005, 0.020)]
    page = [_result(10, 0.006, 0.012), _result(50, 0.010, 0.020)]
    rows = ratio_rows(api, page)
    assert [r[0] for r in rows] == [10, 50]
    assert rows[0][1:3] == pytest.approx((1.5, 1.2))
    assert rows[0][3:] == pytest.approx((2.0, 2.0))  # extra ms of the page at p50 and p99
    assert rows[1][1:] == pytest.approx((2.0, 1.0, 5.0, 0.0))


def test_ratio_rows_refuse_runs_at_different_rates() -> None:
    with pytest.raises(AssertionError):
        ratio_rows([_result(10, 0.004, 0.01)], [_result(20, 0.004, 0.01)])
    with pytest.raises(ValueError):
        ratio_rows([_result(10, 0.004, 0.01)], [])


def test_cpu_seconds_counts_a_process_and_its_children() -> None:
    start = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert cpu_seconds(os.getpid()) - start >= 0.1
    burner = "import time\nt = time.process_time() + 0.3\nwhile time.process_time() < t: pass\ntime.sleep(30)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {burner!r}])"
    child = subprocess.Popen([sys.executable, "-c", parent])
    try:
        deadline = time.monotonic() + 10
        while cpu_seconds(child.pid) < 0.25 and time.monotonic() < deadline:  # the grandchild's CPU counts
            time.sleep(0.05)
        assert cpu_seconds(child.pid) >= 0.25
    finally:
        for pid in reversed(_descendants(child.pid)):
            os.kill(pid, 9)
        child.kill()
        child.wait()
    assert cpu_seconds(child.pid) == 0.0  # gone: nothing to count


def _descendants(pid: int) -> list[int]:
    from bench.openloop import process_tree
    return process_tree(pid)[1:]
