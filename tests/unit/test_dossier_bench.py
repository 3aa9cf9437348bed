"""bench.dossier's pure helpers: the table of the issue's figures beside this run's, the parts to
run, the open-loop figure at a target rate and the database host."""
from __future__ import annotations

import pytest

from bench.dossier import OLD, comparison_rows, open_figures, parse_parts, with_host
from bench.openloop import RateResult


def _rate(rate: float, p99_ms: float, *, errors: int = 0) -> RateResult:
    return RateResult(rate=rate, sent=10, completed=10 - errors, errors=errors, achieved=rate, p50=0.001,
                      p99=p99_ms / 1000, p999=p99_ms / 1000, max=p99_ms / 1000, late_starts=0)


def test_every_row_of_the_issue_has_its_old_figures_and_says_when_it_did_not_run() -> None:
    rows = comparison_rows({})
    assert rows[0][0].startswith('"mijn leerlingen"') and len(rows) == 5
    then = {what: old for what, old, _, _ in rows}
    assert then["1,000 journeys at once"] == "87.7 s (raw 28.2 s; 3.1x)"
    assert "p50 231 / p99 740 ms (raw 127 / 611" in then['"mijn leerlingen", 50 users (closed loop)']
    assert "p50 182 ms, 228/s (raw 68 ms, 583/s; 2.7x)" == then["part A save, 50 students (closed loop)"]
    assert all(now == "not run" for _, _, now, _ in rows)
    assert OLD["journeys"] == {"seconds": 87.7, "raw_seconds": 28.2}


def test_targets_are_judged_on_the_new_figures() -> None:
    now = {"journeys": {"seconds": 30.0, "raw_seconds": 10.0},
           "search_open": {"p99": 20.0, "raw_p99": 10.0, "done": True},
           "save_open": {"p99": 150.0, "raw_p99": 5.0, "done": True}}
    rows = {what: (new, target) for what, _, new, target in comparison_rows(now)}
    assert rows["1,000 journeys at once"] == ("30.0 s (raw 10.0 s; 3.0x)", "<= 2x raw NOT met")
    assert rows['"mijn leerlingen", open loop 50/s'] == ("p99 20.0 ms (raw 10.0 ms)", "p99 < 100 ms met")
    assert rows["part A save, open loop 100/s"][1] == "p99 < 100 ms NOT met"
    now["journeys"]["seconds"] = 20.0
    assert comparison_rows(now)[-1][3] == "<= 2x raw met"


def test_the_open_loop_figure_is_the_one_at_the_target_rate_and_errors_fail_it() -> None:
    http, raw = [_rate(50, 30.0), _rate(100, 80.0, errors=1)], [_rate(50, 5.0), _rate(100, 6.0)]
    assert open_figures(http, raw, 50) == {"p99": 30.0, "raw_p99": 5.0, "done": True}
    assert open_figures(http, raw, 100)["done"] is False
    assert open_figures(http, raw, 200) is None
    failed = {"save_open": open_figures(http, raw, 100)}
    assert comparison_rows(failed)[2][3] == "p99 < 100 ms NOT met"


def test_parts_and_database_host() -> None:
    assert parse_parts("journeys, search") == ["journeys", "search"]
    with pytest.raises(ValueError):
        parse_parts("searches")
    tcp = "postgresql://postgres@127.0.0.1:5432/dst_x"
    assert with_host(tcp, "127.0.0.1") == tcp
    assert with_host(tcp, "/var/run/postgresql") == "postgresql://postgres@/dst_x?host=/var/run/postgresql"
