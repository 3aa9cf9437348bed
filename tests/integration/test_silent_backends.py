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


# --- the scripts leave a server that answers alone ---------------------------------------------


async def _server_identities() -> tuple:
    """When PostgreSQL started, and which process is the broker: a restart changes both."""
    import asyncpg
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        started = await conn.fetchval("SELECT pg_postmaster_start_time()")
    finally:
        await conn.close()
    beam = await asyncio.create_subprocess_exec("pgrep", "-f", "beam.smp", stdout=asyncio.subprocess.PIPE)
    out, _ = await beam.communicate()
    return started, out.decode().split()


async def _bootstrap_check(**extra_env) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}  # a developer's machine, not CI
    env.update(extra_env)
    proc = await asyncio.create_subprocess_exec(
        "bash", "-c", "source scripts/lib/bootstrap.sh && ensure_backends_answer", cwd=ROOT, env=env,
        stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 180)
    return proc.returncode, err.decode()


async def test_a_busy_postgresql_is_reported_never_restarted():
    before = await _server_identities()
    check = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "scripts/lib/check_backends.py"), "postgres", stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "CHECK_PG_FREE_CONNECTIONS": "1000000"})
    _, err = await asyncio.wait_for(check.communicate(), 60)
    assert check.returncode == 2 and "max_connections" in err.decode() and "free connections" in err.decode()

    code, log = await _bootstrap_check(CHECK_PG_FREE_CONNECTIONS="1000000")
    assert code != 0 and "max_connections" in log and "restarting" not in log
    assert await _server_identities() == before, "the working server was left alone"


async def test_a_broker_that_does_not_answer_is_not_restarted_outside_ci(silent_port):
    before = await _server_identities()
    code, log = await _bootstrap_check(CHECK_AMQP_URL=f"amqp://guest:guest@127.0.0.1:{silent_port}/",
                                       CHECK_LIMIT_SECONDS="1")
    assert code != 0 and "not restarted outside CI" in log and "restarting" not in log
    assert await _server_identities() == before
