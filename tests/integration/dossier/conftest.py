from __future__ import annotations

from contextlib import AsyncExitStack

import pytest

from tests.integration.dossier.world import World, open_world


@pytest.fixture(scope="session")
async def world() -> World:
    """One dossier + notification pair (own databases, own exchange) for all dossier tests: each
    test makes its own schools and students, so they do not see each other; and the broker gets
    one set of queues per run instead of one per module."""
    async with AsyncExitStack() as stack:
        yield await open_world(stack, "dossier")
