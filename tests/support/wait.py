"""Waiting in tests for something that happens in the background, with a limit."""
from __future__ import annotations

import asyncio


async def eventually(predicate, timeout: float = 10.0, what: str = "the condition", interval: float = 0.05):
    """Call ``predicate()`` (plain or returning an awaitable) until it gives a true value, which is
    returned; raises TimeoutError naming ``what`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"not within {timeout} s: {what}")
        await asyncio.sleep(interval)
