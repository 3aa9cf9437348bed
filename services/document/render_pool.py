"""The render process pool: PDFs are made in other processes, so the event loop (HTTP, broker
heartbeats, the outbox relay) never waits on a render."""
from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, TypeVar

from services.document.rendering.engine import warm_up

log = logging.getLogger(__name__)
T = TypeVar("T")


class RenderUnavailable(Exception):
    """A render process died (killed, out of memory); the pool was replaced, try again."""


def _initialise() -> None:
    # SIGINT/SIGTERM are for the service: it stops the pool itself after the work in hand.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True, name="parent-watch").start()
    warm_up()


def _exit_with_parent(parent: int) -> None:
    """A service killed with SIGKILL cannot stop its pool: its render processes end themselves."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


class RenderPool:
    def __init__(self, processes: int) -> None:
        self.processes = processes
        # spawn: a fresh interpreter, no copy of the service's sockets, threads or event loop
        self._context = multiprocessing.get_context("spawn")
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.processes, mp_context=self._context, initializer=_initialise)

    async def start(self) -> None:
        """Start every process now (and load fonts), not on the first request."""
        await asyncio.gather(*(self.run(_noop) for _ in range(self.processes)))

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        executor = self._executor
        try:
            return await loop.run_in_executor(executor, functools.partial(fn, *args, **kwargs))
        except BrokenProcessPool:
            if executor is self._executor:
                log.error("render process died, starting a new pool")
                self._executor = self._new_executor()
                executor.shutdown(wait=False, cancel_futures=True)
            raise RenderUnavailable("Een renderproces is gestopt.") from None

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def _noop() -> None:
    return None
