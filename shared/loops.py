"""Background loops that stop when asked, every time.

Every background loop of the services (the outbox relay, the delivery worker, the print job
worker, the roster import worker, housekeeping) is a :class:`Worker`: it works while there is
work, then waits for a wake-up (``LISTEN/NOTIFY``, or a request in the same process) or its poll
interval, and ends when it is stopped or cancelled.

Why not ``asyncio.wait_for(event.wait(), timeout)``: on Python 3.11 a cancellation that arrives
just as the awaited event is set is swallowed by ``wait_for`` (it returns the result instead),
and a ``while True`` loop around it then never ends: a service hangs on SIGTERM and a test suite
in its teardown. :meth:`Wakeup.wait` uses ``asyncio.timeout`` and awaits the event directly, so
a cancellation is always delivered; a stop flag checked by the loop ends it even without one.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, Awaitable, Callable, TypeVar

import asyncpg
from aiohttp import web

from shared.db import UNREACHABLE
from shared.logs import log_fields

log = logging.getLogger(__name__)
T = TypeVar("T")


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds passed; True when it was set.

    Never swallows a cancellation of the calling task."""
    if event.is_set():
        return True
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


class Wakeup:
    """A wake-up signal: ``set()`` from anywhere in the loop, ``await wait(timeout)`` in the worker.

    Each ``set()`` wakes one waiting lane of a worker (up to ``lanes`` wake-ups are kept for lanes
    not waiting yet): a notification of one new row sets one lane to claim it, not every lane of
    the worker to claim nothing (a lane that finds more than it can take wakes the next one).
    ``set_all()`` wakes every lane (stopping)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._pending = 0
        self.lanes = 1

    def set(self) -> None:
        self._pending = min(self.lanes, self._pending + 1)
        self._event.set()

    def set_all(self) -> None:
        self._pending = self.lanes
        self._event.set()

    async def wait(self, timeout: float | None) -> bool:
        """Wait for a wake-up or the timeout and consume the wake-up; True when woken."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._pending == 0:
            self._event.clear()
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            if not await wait_event(self._event, remaining):
                return False
        self._pending -= 1
        if self._pending == 0:
            self._event.clear()
        return True

    async def ensure(self) -> None:
        """Make sure wake-ups can arrive (nothing to do for an in-process signal)."""

    async def close(self) -> None:
        pass


class NotifyWakeup(Wakeup):
    """A wake-up that also arrives by PostgreSQL ``NOTIFY <channel>`` (e.g. from an insert trigger).

    The listening connection is its own (not the pool's); if it is lost it is made again on the
    next ``ensure()``. While it is away, the worker's poll interval still finds the work."""

    def __init__(self, dsn: str, channel: str) -> None:
        super().__init__()
        self.dsn, self.channel = dsn, channel
        self._conn: asyncpg.Connection | None = None
        self._connecting = asyncio.Lock()  # a worker's lanes share one listening connection

    async def ensure(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            return
        async with self._connecting:
            if self._conn is not None and not self._conn.is_closed():
                return
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
                await conn.add_listener(self.channel, self._notified)
            except Exception:  # the database away: polling covers it; tried again on the next round
                if conn is not None:
                    conn.terminate()
                return
            self._conn = conn
        self.set()  # something may have been notified while nobody listened

    def _notified(self, *_args) -> None:
        self.set()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()  # a listening connection holds nothing worth a goodbye


def backoff(failures: int, *, base: float = 0.2, cap: float = 2.0) -> float:
    """Growing pauses after failures in a row: 0.4 s, 0.8 s, ... up to ``cap`` (short: what is
    tried again is cheap, and a service should resume within a moment of its database)."""
    return min(cap, base * 2 ** min(failures, 16))


class Worker:
    """A background loop: ``step()`` while it says there is more, then wait for a wake-up or the
    poll interval; after a failure wait a growing pause. ``stop()`` asks it to end after the work
    in hand; cancelling its task ends it at once."""

    name = "worker"
    lanes = 1  # how many copies of the loop run at once (each calls step() on its own)

    def __init__(self, *, poll_seconds: float, wakeup: Wakeup | None = None) -> None:
        self.poll_seconds = poll_seconds
        self.wakeup = wakeup or Wakeup()
        self._stop = asyncio.Event()  # set by stop() and pause(): the background loop ends
        self._stopping = False  # set by stop() only: work in hand is finished or handed back
        self.failures = 0  # failed rounds since the start (for tests and operators)

    @property
    def stopping(self) -> bool:
        """True once stop() was called: finish or hand back what is in hand, take nothing new."""
        return self._stopping

    @property
    def paused(self) -> bool:
        return self._stop.is_set()

    def wake(self) -> None:
        self.wakeup.set()

    def pause(self) -> None:
        """End the background loop after its round; the work can still be driven by calling in."""
        self._stop.set()
        self.wakeup.set_all()

    def stop(self) -> None:
        """Finish or hand back the work in hand, take no new work, end the loop."""
        self._stopping = True
        self.pause()

    async def step(self) -> bool:
        """One unit of work; True when there is more to do at once."""
        raise NotImplementedError

    async def on_idle(self) -> None:
        """Called after each round, before waiting (e.g. for housekeeping)."""

    async def run(self) -> None:
        self.wakeup.lanes = self.lanes
        if self.lanes == 1:
            await self._loop(0)
            return
        tasks = [asyncio.create_task(self._loop(i), name=f"{self.name}-{i}") for i in range(self.lanes)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, lane: int) -> None:
        failures = 0
        while not self.paused:
            await self.wakeup.ensure()
            try:
                while not self.paused and await self.step():
                    pass
                if lane == 0:
                    await self.on_idle()
            except Exception as exc:  # the database or broker away, say: try again after a pause
                failures += 1
                self.failures += 1
                # an outage by its kind only; anything else (a bug) with its stack
                log.warning(f"{self.name} failed, retrying", exc_info=not isinstance(exc, UNREACHABLE),
                            extra=log_fields(error=type(exc).__name__, failures=failures))
                await wait_event(self._stop, backoff(failures))
                continue
            failures = 0
            if not self.paused:
                await self.wakeup.wait(self.poll_seconds)

    async def close(self) -> None:
        await self.wakeup.close()


async def stop_task(task: asyncio.Task, *, grace: float, cancel_grace: float = 5.0) -> None:
    """Wait up to ``grace`` seconds for a task that was asked to stop, then cancel it and wait up
    to ``cancel_grace`` more. Never waits longer than that: a task that ignores its cancellation is
    logged and left behind rather than hanging the shutdown."""
    if not task.done():
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=cancel_grace)
            if not done:
                log.error("background task did not stop", extra=log_fields(task=task.get_name()))
                return
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("background task ended with an error", extra=log_fields(
            task=task.get_name(), error=type(exc).__name__))


def run_worker(make: Callable[[web.Application], Worker], key: web.AppKey | None = None, *,
               grace: float = 10.0):
    """An aiohttp cleanup context: the worker runs as long as the app; on shutdown it is asked to
    stop, given ``grace`` seconds to finish or hand back its work, and then cancelled."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        worker = make(app)
        if key is not None:
            app[key] = worker
        task = asyncio.create_task(worker.run(), name=worker.name)
        try:
            yield
        finally:
            worker.stop()
            await stop_task(task, grace=grace)
            with contextlib.suppress(Exception):
                await worker.close()

    return context


async def keep_trying(what: str, attempt: Callable[[], Awaitable[T]], *, timeout: float,
                      retry_on: tuple[type[BaseException], ...] = (Exception,)) -> T:
    """``await attempt()`` until it succeeds, with growing pauses (0.4 s ... 2 s), each failure
    logged; after ``timeout`` seconds the last error is raised. For a service's first connection
    to PostgreSQL and RabbitMQ: they may start after it (compose, Kubernetes), in any order."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    failures = 0
    while True:
        try:
            return await attempt()
        except retry_on as exc:
            failures += 1
            pause = backoff(failures)
            if loop.time() + pause > deadline:
                log.error(f"{what} not reachable, giving up", extra=log_fields(
                    error=type(exc).__name__, attempts=failures, seconds=timeout))
                raise
            log.warning(f"{what} not reachable yet, trying again", extra=log_fields(
                error=type(exc).__name__, attempts=failures, retry_in=round(pause, 1)))
            await asyncio.sleep(pause)
