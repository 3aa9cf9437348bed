"""Run a service: uvloop, JSON logs, graceful SIGTERM, and as many processes as WORKERS says."""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from typing import Callable

from aiohttp import web

from shared.logs import setup_logging
from shared.settings import ServiceSettings


def _serve(make_app: Callable[[ServiceSettings], web.Application], settings: ServiceSettings) -> None:
    setup_logging(settings.service_name, settings.log_level)
    try:
        import uvloop
        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; keep running without it
        pass
    app = make_app(settings)
    web.run_app(app, host=settings.http_host, port=settings.http_port, reuse_port=settings.workers > 1,
                access_log=None, print=None, shutdown_timeout=10, handle_signals=True)


def run_service(make_app: Callable[[ServiceSettings], web.Application], settings: ServiceSettings) -> None:
    """Start ``settings.workers`` processes sharing the port (SO_REUSEPORT); SIGTERM stops all."""
    if settings.workers == 1:
        _serve(make_app, settings)
        return
    ctx = multiprocessing.get_context("spawn")
    children = [ctx.Process(target=_serve, args=(make_app, settings), name=f"{settings.service_name}-{i}")
                for i in range(settings.workers)]
    for child in children:
        child.start()

    def forward(signum, _frame):
        for child in children:
            if child.is_alive() and child.pid:
                os.kill(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = []
    for child in children:
        child.join()
        codes.append(child.exitcode)
    sys.exit(0 if all(c == 0 for c in codes) else 1)
