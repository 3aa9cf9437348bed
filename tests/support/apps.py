"""Running services for tests: in-process (aiohttp TestServer) or as real processes."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.support import env

ROOT = Path(__file__).resolve().parents[2]


def settings(cls, db: str, **overrides):
    """Settings for an in-process service: the run's vhost, a database of its own, fast polling."""
    values = dict(database_url=env.database_url(db), amqp_url=env.AMQP_URL, event_exchange=env.EXCHANGE,
                  queue_type="classic", event_archive=False,
                  outbox_poll_seconds=0.2,
                  retry_delays_ms=(200, 400), db_pool_min=1,
                  # DOORSTROOM_TEST_DB_POOL_MAX=1 runs the suite with one connection per service: any
                  # code that takes a second connection while it holds one then fails at once
                  db_pool_max=int(os.environ.get("DOORSTROOM_TEST_DB_POOL_MAX", "5")))
    if "digest_auto" in cls.model_fields:  # notification's daily MBO digest: by hand unless a test switches it on
        values["digest_auto"] = False
    values.update(overrides)
    return cls(**values)


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceProcess:
    """``python -m services.<name>`` as a child process with the test environment."""

    def __init__(self, name: str, db: str | None = None, **extra: object) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1",
                    **env.service_env(name, db=db, http_port=self.port, **extra)}
        self.proc: subprocess.Popen | None = None
        self.log_path = ROOT / "test-artifacts" / f"{name}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 30) -> "ServiceProcess":
        self.log_path.parent.mkdir(exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", f"services.{self.name}"], cwd=ROOT,
                                     env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
                try:
                    async with http.get(self.url + "/readyz") as r:
                        if r.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready: {self.log_path.read_text()[-2000:]}")

    async def stop(self, timeout: float = 20) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if self.proc.poll() is None:
                self.proc.kill()
        self._log.close()
        return self.proc.wait()
