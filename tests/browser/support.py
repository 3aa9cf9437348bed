"""What browser tests share: screenshots as test artifacts, the accessibility check (axe-core,
bundled with axe-playwright-python, so it works offline) and small page helpers."""
from __future__ import annotations

import re
from pathlib import Path

from axe_playwright_python.async_playwright import Axe

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
_axe = Axe()


async def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def accessible(page, name: str) -> None:
    """A screenshot of the page, then axe: no serious or critical violation of WCAG 2.1 A/AA."""
    await screenshot(page, name)
    results = await _axe.run(page, options={"runOnly": {"type": "tag", "values": [
        "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}, "resultTypes": ["violations"]})
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    details = "; ".join(f"{v['id']} ({v['impact']}): {v['help']} at "
                        + ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:3]) for v in bad)
    assert not bad, f"{name}: toegankelijkheidsfouten: {details}"


async def log_in(page, system, email: str, password: str) -> None:
    await page.goto(system.portal_url + "/inloggen")
    await page.locator("#f-email").fill(email)
    await page.locator("#f-password").fill(password)
    await page.get_by_role("button", name="Inloggen").click()
    await page.wait_for_load_state()


async def log_out(page) -> None:
    await page.get_by_role("button", name="Uitloggen").click()
    await page.wait_for_load_state()
