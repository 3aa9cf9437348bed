"""A job that runs now and then for as long as the app runs (housekeeping, sweeping): an aiohttp
cleanup context that starts it with the app and stops it with the app. A failing run is logged
(only the kind of error: messages may quote personal data) and the next one comes at its time."""
from __future__ import annotations

import logging
from datetime import date
from typing import AsyncIterator, Awaitable, Callable

import asyncpg
from aiohttp import web

from shared.logs import log_fields
from shared.loops import Worker, run_worker

log = logging.getLogger(__name__)


class PeriodicJob(Worker):
    """Runs ``job(app)`` at once and then every ``seconds``; stops when asked, every time."""

    def __init__(self, name: str, seconds: float, job: Callable[[web.Application], Awaitable[object]],
                 app: web.Application) -> None:
        super().__init__(poll_seconds=seconds)
        self.name, self.job, self.app = name, job, app

    async def step(self) -> bool:
        try:
            await self.job(self.app)
        except Exception as exc:  # the database away, say: the next run tries again
            log.warning(f"{self.name} failed", extra=log_fields(error=type(exc).__name__))
        return False


def periodic(name: str, seconds: float, job: Callable[[web.Application], Awaitable[object]]):
    """Cleanup context running ``job(app)`` at once and then every ``seconds``."""
    return run_worker(lambda app: PeriodicJob(name, seconds, job, app), grace=5.0)


def periodic_when(name: str, enabled: Callable[[web.Application], bool],
                  seconds: Callable[[web.Application], float],
                  job: Callable[[web.Application], Awaitable[object]]):
    """Like ``periodic``, but only for apps whose settings switch the job on (a test or an operator
    may run it by hand instead); ``enabled`` and ``seconds`` read the app's settings."""
    async def context(app: web.Application) -> AsyncIterator[None]:
        if not enabled(app):
            yield
            return
        async for _ in periodic(name, seconds(app), job)(app):
            yield
    return context


# The table a service's migrations create for ``claim_day`` (dossier 002, notification 003):
#   CREATE TABLE periodic_jobs (name text PRIMARY KEY, last_run_on date, ran_at timestamptz);


async def claim_day(conn: asyncpg.Connection, job: str, day: date) -> bool:
    """The once-a-day election: True for the one process that moves ``job``'s ``last_run_on`` to
    ``day`` (the row lock makes a racing process wait, then its WHERE is re-checked and fails).
    Call it inside a transaction: the claim commits with that transaction, or not at all, so work
    done in the same transaction is done exactly once a day whatever the number of processes."""
    await conn.execute("INSERT INTO periodic_jobs (name) VALUES ($1) ON CONFLICT DO NOTHING", job)
    return bool(await conn.fetchval(
        """UPDATE periodic_jobs SET last_run_on = $2, ran_at = now()
           WHERE name = $1 AND (last_run_on IS NULL OR last_run_on < $2) RETURNING true""", job, day))
