from __future__ import annotations

import asyncio
import os
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
