"""scripts/dev, as a newcomer runs it: every service as a local process plus the SMTP sink, the demo
data loaded (a one-shot task that ends, which must not stop the rest), the portal serving the demo
logins, and Ctrl-C stopping everything cleanly. On ports, databases and an exchange of this run."""
from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from tests.support import env

ROOT = Path(__file__).resolve().parents[2]


def free_block(size: int) -> int:
    """The first of ``size`` consecutive free ports."""
    for _ in range(200):
        base = random.randrange(20_000, 32_000)  # below the ephemeral range (32768-): no client takes them meanwhile
        ok = True
        for port in range(base, base + size):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free ports")


async def test_scripts_dev_runs_the_system_with_demo_data_and_stops_cleanly(tmp_path):
    base, smtp = free_block(5), free_block(1)
    dev = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "scripts/dev.py"), "--port-base", str(base), "--smtp-port", str(smtp),
        "--db-prefix", f"{env.DB_PREFIX}dev", "--mail-dir", str(tmp_path / "mail"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT,
        env={**os.environ, "EVENT_EXCHANGE": env.run_exchange("dev"), "QUEUE_TYPE": "classic",
             "LOG_LEVEL": "WARNING"})
    output: list[str] = []

    async def until(text: str, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not any(text in line for line in output):
                line = await dev.stdout.readline()
                assert line, "scripts/dev ended early:\n" + "".join(output)
                output.append(line.decode(errors="replace"))

    try:
        await until("Doorstroom draait", 180)
        assert any("decaan@voorbeeldcollege.example" in line for line in output), "the demo logins are shown"
        portal = f"http://localhost:{base}"  # the address the portal knows itself by (PUBLIC_BASE_URL)
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[portal])
        async with aiohttp.ClientSession(base_url=portal, cookie_jar=jar) as http:
            page = await (await http.get("/inloggen")).text()
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            async with http.post("/inloggen", allow_redirects=False, data={
                    "email": "decaan@voorbeeldcollege.example", "password": "Demo-decaan-2026",
                    "csrf_token": token}) as r:
                assert r.status == 303 and r.headers["Location"] == "/school", await r.text()
            assert "Te behandelen" in await (await http.get("/school")).text()
        await asyncio.sleep(1)
        assert dev.returncode is None, "everything keeps running after the demo data is loaded"
    finally:
        if dev.returncode is None:
            dev.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(dev.communicate(), 60)
        output.append(rest.decode(errors="replace"))
    assert dev.returncode == 0, "".join(output)
    assert "alles is gestopt" in "".join(output)
