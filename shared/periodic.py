"""A job that runs now and then for as long as the app runs (housekeeping, sweeping): an aiohttp
cleanup context that starts it with the app and stops it with the app. A failing run is logged
(only the kind of error: messages may quote personal data) and the next one comes at its time."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, Awaitable, Callable

from aiohttp import web

from shared.logs import log_fields

log = logging.getLogger(__name__)


def periodic(name: str, seconds: float, job: Callable[[web.Application], Awaitable[object]]):
    """Cleanup context running ``job(app)`` at once and then every ``seconds``."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                try:
                    await job(app)
                except Exception as exc:  # the database away, say: the next run tries again
                    log.warning(f"{name} failed", extra=log_fields(error=type(exc).__name__))
                await asyncio.sleep(seconds)

        task = asyncio.create_task(loop(), name=name)
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context
