"""Open-loop load: requests leave at a fixed arrival rate whatever the answers, and each latency is
measured from the moment the request was *meant* to leave (its intended send time), not from when
it really left. A closed loop (N clients, each waiting for its answer) slows down with the system it
measures and so hides the queueing a user sees (coordinated omission); this does not.

    results = [await at_rate(fire, rate, seconds) for rate in (10, 50, 100)]
    print_table("what", results, target_p99_ms=200)

``fire(i)`` sends request ``i`` and returns when it is done, or returns the wall-clock time at which
it completed somewhere else (a mail at the SMTP sink, say) later: then pass ``completions`` to
:func:`summarize` instead. Also here: the resident memory of a process tree, for "at rest" and
"at peak" figures next to the latencies.
"""
from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from bench.stats import pct


@dataclass
class RateRun:
    """One run at one arrival rate: the intended send time (wall clock) of every request, when it
    was done (wall clock; ``None`` while unknown), and the requests that failed."""
    rate: float
    seconds: float
    intended: list[float] = field(default_factory=list)
    done: list[float | None] = field(default_factory=list)
    errors: int = 0
    late_starts: int = 0  # requests the generator itself sent more than 10 ms after their time

    def latencies(self) -> list[float]:
        return [d - i for i, d in zip(self.intended, self.done) if d is not None]


@dataclass
class RateResult:
    rate: float
    sent: int
    completed: int
    errors: int
    achieved: float  # completions per second over the run
    p50: float
    p99: float
    p999: float
    max: float
    late_starts: int

    def meets(self, target_p99_ms: float) -> bool:
        return self.completed == self.sent and not self.errors and self.p99 * 1000 <= target_p99_ms


async def at_rate(fire: Callable[[int], Awaitable[float | None]], rate: float, seconds: float, *,
                  settle: float = 60.0) -> RateRun:
    """Send ``rate * seconds`` requests, request ``i`` meant to leave at ``start + i / rate``, each in
    its own task (so a slow answer never delays the next request), then wait up to ``settle``
    seconds for the stragglers. A request whose ``fire`` raises counts as an error."""
    run = RateRun(rate, seconds)
    count = max(1, int(rate * seconds))
    loop = asyncio.get_running_loop()
    start_mono, start_wall = loop.time() + 0.05, time.time() + 0.05
    tasks: list[asyncio.Task] = []

    async def one(i: int) -> None:
        try:
            finished = await fire(i)
        except Exception:
            run.errors += 1
            return
        run.done[i] = finished if finished is not None else time.time()

    for i in range(count):
        offset = i / rate
        run.intended.append(start_wall + offset)
        run.done.append(None)
        delay = start_mono + offset - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.01:
            run.late_starts += 1
        tasks.append(asyncio.create_task(one(i)))
    if tasks:
        await asyncio.wait(tasks, timeout=settle)
    for task in tasks:
        task.cancel()
    return run


def summarize(run: RateRun, completions: dict[int, float] | None = None) -> RateResult:
    """Percentiles from the intended send times; ``completions`` (request index -> wall-clock time)
    replaces the ``done`` times for work that completes elsewhere."""
    if completions is not None:
        run.done = [completions.get(i) for i in range(len(run.intended))]
    lat = run.latencies() or [float("nan")]
    done = [d for d in run.done if d is not None]
    span = (max(done) - run.intended[0]) if done else float("nan")
    return RateResult(rate=run.rate, sent=len(run.intended), completed=len(done), errors=run.errors,
                      achieved=len(done) / span if done and span > 0 else 0.0,
                      p50=pct(lat, .5), p99=pct(lat, .99), p999=pct(lat, .999), max=max(lat),
                      late_starts=run.late_starts)


def print_table(title: str, results: Iterable[RateResult], target_p99_ms: float | None = None) -> None:
    results = list(results)
    print(f"\n{title}")
    print(f"  {'rate/s':>7} {'sent':>6} {'done':>6} {'err':>4} {'achieved/s':>10} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'max ms':>8}")
    for r in results:
        late = f"   ({r.late_starts} sent late by the generator)" if r.late_starts else ""
        print(f"  {r.rate:>7.0f} {r.sent:>6} {r.completed:>6} {r.errors:>4} {r.achieved:>10.1f} "
              f"{r.p50 * 1000:>8.1f} {r.p99 * 1000:>8.1f} {r.p999 * 1000:>9.1f} {r.max * 1000:>8.1f}{late}")
    if target_p99_ms is not None:
        meeting = [r.rate for r in results if r.meets(target_p99_ms)]
        best = f"{max(meeting):.0f}/s" if meeting else "none of the rates tried"
        print(f"  highest rate with every request done and p99 <= {target_p99_ms:.0f} ms: {best}")


def parse_rates(text: str) -> list[float]:
    rates = [float(part) for part in text.split(",") if part.strip()]
    if not rates or any(r <= 0 for r in rates):
        raise ValueError("rates: positive numbers separated by commas, e.g. 10,50,100")
    return rates


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (a service with WORKERS > 1 is a tree)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{current}/task/{current}/children", encoding="ascii") as children:
                stack.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that are still there."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/task/{current}/children", encoding="ascii") as children:
                stack.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
        found.append(current)
    return found


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by one process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15 of proc(5))


def machine_cpu_seconds() -> float:
    """CPU time all cores of the machine spent busy so far (``/proc/stat``: everything but idle and
    I/O wait): the difference over a run is what the run cost the machine as a whole, the
    database and the broker included."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by ``pid`` and its descendants: the difference over a
    run, divided by the requests, is a process's CPU cost per request."""
    return sum(process_cpu_seconds(current) for current in process_tree(pid))


class PeakRss:
    """Samples the RSS of some process trees every ``interval`` seconds while running."""

    def __init__(self, pids: dict[str, int], interval: float = 0.2) -> None:
        self.pids, self.interval = pids, interval
        self.at_rest = {name: rss_bytes(pid) for name, pid in pids.items()}
        self.peak = dict(self.at_rest)
        self._task: asyncio.Task | None = None

    async def _sample(self) -> None:
        while True:
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], rss_bytes(pid))
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> "PeakRss":
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._task is not None
        self._task.cancel()

    def report(self) -> str:
        return "   ".join(f"{name} {self.at_rest[name] / 2**20:.0f} -> {self.peak[name] / 2**20:.0f} MiB"
                           for name in self.pids)


class Profiles:
    """py-spy on some processes (and their worker processes) while a load runs: collapsed stacks in
    ``directory``, and the functions with the most samples of their own, per process. Needs py-spy
    (``pip install py-spy``) and the right to trace (root, or ptrace allowed)."""

    def __init__(self, pids: dict[str, int], directory: str, seconds: float, rate: int = 200) -> None:
        self.pids, self.directory, self.seconds, self.rate = pids, directory, seconds, rate
        self.procs: dict[str, asyncio.subprocess.Process] = {}

    async def __aenter__(self) -> "Profiles":
        import shutil
        from pathlib import Path
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        Path(self.directory).mkdir(parents=True, exist_ok=True)
        for name, pid in self.pids.items():
            self.procs[name] = await asyncio.create_subprocess_exec(
                spy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--format", "raw",
                "--rate", str(self.rate), "--duration", str(max(1, int(self.seconds))),
                "--output", f"{self.directory}/{name}.txt",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        return self

    async def __aexit__(self, *exc) -> None:
        for proc in self.procs.values():
            await proc.wait()

    def report(self, top: int = 12) -> str:
        out = []
        for name in self.pids:
            own: dict[str, int] = {}
            total = 0
            try:
                lines = open(f"{self.directory}/{name}.txt", encoding="utf-8").read().splitlines()
            except FileNotFoundError:
                out.append(f"  {name}: no profile (py-spy missing or not allowed to trace)")
                continue
            for line in lines:
                stack, _, count = line.rpartition(" ")
                if not stack or not count.isdigit():
                    continue
                frame = stack.split(";")[-1]
                own[frame] = own.get(frame, 0) + int(count)
                total += int(count)
            out.append(f"  {name}: {total} samples; most time of their own in")
            for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
                out.append(f"    {100 * count / max(total, 1):5.1f}%  {frame[:110]}")
        return "\n".join(out)
