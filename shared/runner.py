"""Run a service: uvloop, JSON logs, graceful SIGTERM, and as many processes as WORKERS says
(then with the metrics of all of them summed: prometheus-client's multiprocess mode)."""
from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
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
    app.on_startup.append(_freeze_startup_objects)  # last: after every pool, worker and cache is made
    web.run_app(app, host=settings.http_host, port=settings.http_port, reuse_port=settings.workers > 1,
                access_log=None, print=None, shutdown_timeout=10, handle_signals=True)


async def _freeze_startup_objects(_app: web.Application) -> None:
    """What start-up made (modules, schemas, templates, pools) lives as long as the process: out of
    the garbage collector's sight (``gc.freeze``), so its full collections scan only the objects of
    the requests and events in hand; those pauses were part of the latency's long tail."""
    gc.collect()
    gc.freeze()


def _metrics_dir(service_name: str) -> tuple[Path, bool]:
    """The folder of prometheus-client's multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR`` when set
    (emptied: values of an earlier run must not count), else a new temporary one (removed at the
    end). Set in the environment before the workers start, so each one writes its values there."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        own = f"_{os.getpid()}.db"  # this process's files, made at import, stay
        for old in folder.glob("*.db"):
            if not old.name.endswith(own):
                old.unlink(missing_ok=True)
        return folder, False
    folder = Path(tempfile.mkdtemp(prefix=f"doorstroom-metrics-{service_name}-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder, True


def run_service(make_app: Callable[[ServiceSettings], web.Application], settings: ServiceSettings) -> None:
    """Start ``settings.workers`` processes sharing the port (SO_REUSEPORT); SIGTERM stops all."""
    if settings.workers == 1:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            _metrics_dir(settings.service_name)  # emptied: an earlier run's values must not count
        _serve(make_app, settings)
        return
    metrics_dir, made = _metrics_dir(settings.service_name)
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
    from shared import metrics

    codes = []
    for child in children:
        child.join()
        codes.append(child.exitcode)
        if child.pid:
            metrics.mark_process_dead(child.pid)
    if made:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    sys.exit(0 if all(c == 0 for c in codes) else 1)
