"""A letters job survives a restart of the service half-way: the document service runs as a real
process, is stopped (SIGTERM) or killed (SIGKILL) while rendering, and started again. The job is
completed once, with every letter exactly once, and the pieces kept before the stop are not
rendered again; the completed event is published once."""
from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.integration.document.letters import (assert_letters_in_order, envelope, job_of_batch, letters_batch,
                                                pdf_pages, wait_for_state)
from tests.support import env
from tests.support.apps import ServiceProcess
from tests.support.auth import token_issuer
from tests.support.events import Probe, broker

LETTERS, CHUNK = 240, 4


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


async def _gone(pids: set[int], timeout: float = 10) -> set[int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    alive = set(pids)
    while alive and loop.time() < deadline:
        alive = {p for p in alive if Path(f"/proc/{p}").exists()
                 and "zombie" not in Path(f"/proc/{p}/status").read_text(errors="ignore").lower()}
        await asyncio.sleep(0.2)
    return alive


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
async def test_a_letters_job_survives_a_restart_half_way(unique, how):
    db = f"doc_restart_{unique}"
    async with token_issuer() as issuer, broker(env.EXCHANGE) as bus:
        extra = dict(auth_jwks_url=issuer.jwks_url, render_processes=1, letters_chunk_size=CHUNK,
                     print_job_lease_seconds=2, print_job_poll_seconds=0.2, log_level="WARNING")
        probe = await Probe.bind(bus, "document.print_job_completed")
        first = await ServiceProcess("document", db=db, **extra).start()
        counsellor = uuid.uuid4()
        headers = issuer.headers("counsellor", account_id=counsellor)
        data = letters_batch(LETTERS, requested_by=counsellor, seed=7)
        env_ = envelope(data)
        await bus.publish(env_.type, env_.model_dump_json().encode(), message_id=str(env_.id))
        async with aiohttp.ClientSession() as http:
            job = await job_of_batch(http, first.url, headers, data.batch_id)
            while True:  # stop it once some pieces are kept, long before the end
                async with http.get(f"{first.url}/v1/print-jobs/{job['id']}", headers=headers) as r:
                    job = await r.json()
                if job["pages_done"] >= 8 * CHUNK or job["state"] == "done":
                    break
                await asyncio.sleep(0.02)
            assert job["state"] == "rendering" and job["pages_done"] < LETTERS, "stopped half-way"
            pool_processes = _children(first.proc.pid)
            first.proc.send_signal(how)
            for _ in range(600):  # one signal, as an orchestrator sends it; then wait for the exit
                if first.proc.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            assert first.proc.poll() is not None, "the service exits after one signal"
            assert await first.stop() == (-signal.SIGKILL if how == signal.SIGKILL else 0)
            assert await _gone(pool_processes) == set(), "no render process is left behind"

            conn = await asyncpg.connect(env.database_url(db))
            try:
                kept = await conn.fetchrow(
                    "SELECT state, pages_done, chunks_rendered, attempts FROM print_jobs WHERE id = $1",
                    uuid.UUID(job["id"]))
                assert 0 < kept["pages_done"] < LETTERS, "pieces were kept, the job is not done"
                assert kept["state"] == ("rendering" if how == signal.SIGKILL else "queued")

                second = await ServiceProcess("document", db=db, **extra).start()
                try:
                    done = await wait_for_state(http, second.url, headers, job["id"], timeout=120)
                    assert done["state"] == "done" and done["pages_done"] == LETTERS
                    async with http.get(second.url + done["download_path"], headers=headers) as r:
                        assert r.status == 200
                        pdf = await r.read()
                finally:
                    await second.stop()
                final = await conn.fetchrow("SELECT chunks_rendered, attempts FROM print_jobs WHERE id = $1",
                                            uuid.UUID(job["id"]))
            finally:
                await conn.close()
    assert_letters_in_order(pdf_pages(pdf), data)
    assert final["chunks_rendered"] == LETTERS // CHUNK, "every piece was kept exactly once"
    # killed: the claim of the dead process counts as an attempt; stopped: the job was handed back
    assert final["attempts"] == (2 if how == signal.SIGKILL else 1)
    await probe.wait_for(1)
    await asyncio.sleep(1.0)  # a second completion would have arrived by now
    completed = [e for e in probe.received if e["data"]["job_id"] == job["id"]]
    assert len(completed) == 1 and completed[0]["data"]["pages"] == LETTERS
