from __future__ import annotations

import asyncio
import faulthandler
import gc
import os
import sys
import threading
import uuid

import pytest

from tests.support import env


@pytest.fixture(scope="session", autouse=True)
def isolated_backends():
    """One exchange (with its queues) and one set of databases per test run; removed afterwards."""
    os.environ.setdefault("DOORSTROOM_TEST_RUN", env.RUN_ID)
    yield
    asyncio.run(env.delete_run_queues())
    asyncio.run(env.drop_databases())


@pytest.fixture
def unique() -> str:
    """Unique per test, and starting with the run id, so ``ex.{unique}`` exchanges' queues are
    recognised as this run's when it cleans up."""
    return env.RUN_ID + uuid.uuid4().hex[:6]


WATCHDOG_SECONDS = float(os.environ.get("DOORSTROOM_TEST_WATCHDOG", 240))  # before pytest-timeout's 300 ends the run


def _dump_running_tasks(test: str) -> None:
    """What a hung test waits for: every thread's stack and every running loop's asyncio tasks."""
    print(f"\n=== {test} still runs after {WATCHDOG_SECONDS} s; threads and asyncio tasks follow ===",
          file=sys.stderr, flush=True)
    faulthandler.dump_traceback(all_threads=True)
    loops = [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()]
    for loop in loops:
        for _ in range(3):  # the set can change under us: this thread is not the loop's
            try:
                tasks = list(asyncio.all_tasks(loop))
                break
            except RuntimeError:
                continue
        else:
            tasks = []
        for task in tasks:
            print(f"--- {task!r}", file=sys.stderr)
            task.print_stack(limit=12, file=sys.stderr)
    sys.stderr.flush()


@pytest.fixture(autouse=True)
def hang_watchdog(request):
    timer = threading.Timer(WATCHDOG_SECONDS, _dump_running_tasks, args=(request.node.nodeid,))
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()
