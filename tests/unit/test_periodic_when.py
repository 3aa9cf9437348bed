"""A periodic job that settings switch on runs with the app and stops with it; switched off, it
never runs."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from shared.periodic import periodic_when

pytestmark = pytest.mark.asyncio

RUNS = web.AppKey("runs", list)
ON = web.AppKey("on", bool)


async def _job(app: web.Application) -> None:
    app[RUNS].append(1)


async def _run_app(on: bool) -> list:
    app = web.Application()
    app[RUNS], app[ON] = [], on
    app.cleanup_ctx.append(periodic_when("test-job", lambda a: a[ON], lambda a: 0.01, _job))
    runner = web.AppRunner(app)
    await runner.setup()
    await asyncio.sleep(0.2)
    await runner.cleanup()
    after_stop = len(app[RUNS])
    await asyncio.sleep(0.05)
    assert len(app[RUNS]) == after_stop, "the job ran after the app stopped"
    return app[RUNS]


async def test_switched_on_it_runs_again_and_again() -> None:
    assert len(await _run_app(True)) >= 2


async def test_switched_off_it_never_runs() -> None:
    assert await _run_app(False) == []
