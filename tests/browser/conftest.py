"""Browser tests: Playwright for Python driving Debian's Chromium headless (/usr/bin/chromium,
installed by scripts/test; never `playwright install`), one browser for the whole session, a
fresh context (cookies) per test."""
from __future__ import annotations

import os
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import pytest_asyncio

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} ontbreekt: scripts/test installeert Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    playwright = await async_playwright().start()
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        await browser.close()
        await playwright.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def system():
    """The whole system in process, one per test module (each module seeds its own school)."""
    from tests.browser.system import open_system

    async with AsyncExitStack() as stack:
        yield await open_system(stack)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def demo(system):
    from tests.browser.system import seed

    return await seed(system)


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser):
    context = await browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(15_000)
    yield page
    await context.close()
