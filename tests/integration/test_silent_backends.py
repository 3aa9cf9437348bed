"""A broker that accepts TCP and then says nothing (seen on this machine's RabbitMQ under churn)
makes a service fail its start and the test bootstrap restart the broker, instead of waiting
forever: the connect has a time limit, and scripts/lib/check_backends.py says what is wrong."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from shared.bus import Broker

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def silent_port():
    """A TCP server that accepts connections and never answers."""
    held = []

    async def accept(reader, writer):
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_silent_broker_fails_the_connect_instead_of_hanging(silent_port):
    broker = Broker(f"amqp://guest:guest@127.0.0.1:{silent_port}/", "doorstroom.test.silent", "test",
                    connect_timeout=1.0)
    with pytest.raises((asyncio.TimeoutError, ConnectionError, OSError)):
        await broker.connect()
    assert not broker.is_connected


async def test_the_backend_check_names_a_silent_broker(silent_port):
    check = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "scripts/lib/check_backends.py"), "rabbitmq", stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "CHECK_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{silent_port}/",
             "CHECK_LIMIT_SECONDS": "1"})
    _, err = await asyncio.wait_for(check.communicate(), 60)
    assert check.returncode == 1 and "does not complete the AMQP handshake" in err.decode()
    # and the real ones answer
    ok = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "scripts/lib/check_backends.py"),
                                              stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(ok.communicate(), 90)
    assert ok.returncode == 0, err.decode()
