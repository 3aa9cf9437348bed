from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from tests.support import env


@pytest.fixture(scope="session", autouse=True)
def isolated_backends():
    """One vhost and one set of databases per test run; removed afterwards."""
    os.environ.setdefault("DOORSTROOM_TEST_RUN", env.RUN_ID)
    env.create_vhost()
    yield
    env.delete_vhost()
    asyncio.run(env.drop_databases())


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]
