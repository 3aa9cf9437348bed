"""The roster import job: 202 and progress in chunks, the BSN encrypted while rows wait, the rows
gone when done, one import per school at a time, the school admin of that school only, resumed
after the service stopped half-way (without a row imported or announced twice), never worked by
two replicas at once, and a chunk that keeps failing fails the job."""
from __future__ import annotations

import asyncio
import json
import logging
from contextlib import AsyncExitStack
from typing import Callable

import pytest

from services.identity.context import VAULT
from services.identity.roster_import_worker import ROSTER_WORKER
from shared.app import DB
from tests.integration.identity.conftest import CSV_HEADER, World, world

SMALL_CHUNKS = dict(roster_import_chunk_size=2, roster_import_poll_seconds=0.05)
BSNS = ["111222011", "111222023", "111222035", "111222047"]
NEW_NUMBERS = ["400001", "400002", "400003", "400005"]


def five_rows() -> bytes:
    """Chunks of 2: (Anna, Bram), (Cas, Roos de Winter, already on the roster), (Eva)."""
    return (CSV_HEADER
            + f"400001;Anna;;;Aalders;01-01-2010;4n;4;anna@example.nl;{BSNS[0]};\n"
            + f"400002;Bram;;;Bos;02-02-2010;4n;4;;{BSNS[1]};\n"
            + f"400003;Cas;;;Claes;03-03-2010;4n;4;;{BSNS[2]};\n"
            + "100234;Roos;Roos Maria;de;Winter;14-03-2010;4a;4;roos.nieuw@leerling.example;123456708;\n"
            + f"400005;Eva;;;Evers;05-05-2010;4n;4;;{BSNS[3]};\n").encode()


async def until(w: World, import_id: str, check: Callable[[dict], bool], timeout: float = 30) -> dict:
    async with asyncio.timeout(timeout):
        while not check(job := await w.import_state(import_id)):
            await asyncio.sleep(0.05)
    return job


async def import_events(w: World, numbers: list[str]) -> list[dict]:
    return [e for e in await w.events("identity.student_changed") if e["student_number"] in numbers]


async def test_an_import_shows_its_progress_and_keeps_no_plain_bsn(unique, caplog):
    caplog.set_level(logging.DEBUG)
    async with world(f"job_progress_{unique}", **SMALL_CHUNKS) as w:
        before = len(await w.events("identity.student_changed"))
        async with w.holding_student("100234"):
            status, job = await w.import_csv(five_rows(), wait=False)
            assert status == 202, job
            assert (job["state"], job["state_label"], job["rows_total"], job["rows_done"]) == \
                ("queued", "In de wachtrij", 5, 0)
            assert job["detail"] == "Het bestand is goedgekeurd: 5 leerlingen worden ingelezen."
            assert job["classes_created"] == ["4n"] and job["not_in_file"] == 5
            job = await until(w, job["import_id"], lambda j: j["rows_done"] == 2)
            assert (job["state"], job["state_label"], job["detail"]) == \
                ("running", "Bezig met inlezen", "2 van 5 rijen ingelezen.")
            assert job["finished_at"] is None

            # the rows still to do wait with the BSN encrypted as identity encrypts it, never plain
            async with w.app[DB].acquire() as conn:
                waiting = await conn.fetch("SELECT * FROM roster_import_rows ORDER BY seq")
                dump = json.dumps([dict(r) for r in await conn.fetch("SELECT * FROM roster_import_rows")], default=repr)
            assert [r["student_number"] for r in waiting] == ["400003", "100234", "400005"]
            vault = w.app[VAULT]
            assert vault.decrypt_bsn(waiting[0]["bsn_ciphertext"]) == BSNS[2]
            assert waiting[0]["bsn_hmac"] == vault.bsn_hash(BSNS[2])
            assert not any(b in dump for b in BSNS)

            # one import per school at a time
            status, problem = await w.import_csv(five_rows())
            assert status == 409 and problem["code"] == "import-running" and problem["import_id"] == job["import_id"]
            assert "Wacht tot dat klaar is" in problem["detail"]

        job = await w.finished_import(job["import_id"])
        assert (job["state"], job["state_label"], job["rows_done"], job["rows_total"]) == ("done", "Klaar", 5, 5)
        assert (job["created"], job["updated"], job["unchanged"]) == (4, 1, 0) and job["finished_at"]
        assert job["detail"] == "Het bestand is ingelezen: 5 leerlingen."
        assert await w.fetchval("SELECT count(*) FROM roster_import_rows") == 0, "the raw rows are gone"
        assert await w.fetchval("SELECT email FROM students WHERE student_number = '100234'") == \
            "roos.nieuw@leerling.example"
        events = (await w.events("identity.student_changed"))[before:]
        assert sorted(e["student_number"] for e in events) == sorted([*NEW_NUMBERS, "100234"]), "each once"
        async with w.app[DB].acquire() as conn:
            request_ids = await conn.fetch(
                """SELECT DISTINCT envelope->>'requestid' AS rid FROM outbox WHERE event_type = 'identity.student_changed'
                   AND envelope->'data'->>'student_number' = ANY($1::text[])""", NEW_NUMBERS)
        assert len(request_ids) == 1 and request_ids[0]["rid"], "the events carry the upload's request id"
        outbox = await w.outbox_text()
        assert not any(b in outbox for b in BSNS)
        ours = [r for r in caplog.records if r.name.startswith(("services.", "shared."))]  # not the AMQP library's
        logged = json.dumps([(r.getMessage(), getattr(r, "fields", None)) for r in ours], default=str)
        assert "roster import done" in logged
        assert not any(b in logged for b in BSNS) and "Aalders" not in logged

        # the school can import again now
        status, again = await w.import_csv(five_rows())
        assert status == 202 and again["state"] == "done" and again["unchanged"] == 5


async def test_only_the_school_admin_of_that_school_sees_an_import(w):
    status, job = await w.import_csv((CSV_HEADER + "400001;Anna;;;Aalders;01-01-2010;4n;4;;;\n").encode())
    assert status == 202
    path = f"/v1/roster/imports/{job['import_id']}"
    for who in ("counsellor", "mentor_4a", "admin", "student"):
        r = await w.client.get(path, headers=await w.headers(who))
        assert r.status == 403, who
    assert (await w.client.get(path)).status == 401

    # the school admin of another school: as if it does not exist
    admin = await w.headers("admin")
    school = await (await w.client.post("/v1/schools", json={"kind": "vo", "name": "Andere School"},
                                        headers=admin)).json()
    r = await w.client.post("/v1/staff", headers=admin, json={
        "role": "school_admin", "name": "Ander Beheer", "email": "beheer@andere.example",
        "school_id": school["school_id"], "invite": True})
    assert r.status == 201, await r.text()
    [invite] = [e for e in await w.events("identity.staff_invited") if e["email"] == "beheer@andere.example"]
    token = invite["accept_url"].split("token=", 1)[1]
    r = await w.client.post("/v1/invitations/accept", json={"token": token, "password": "een andere school 2026"})
    assert r.status == 200, await r.text()
    other = {"Authorization": f"Bearer {(await w.login('beheer@andere.example', 'een andere school 2026'))['access_token']}"}
    r = await w.client.get(path, headers=other)
    assert r.status == 404 and (await r.json())["detail"] == "Deze inlezing bestaat niet."
    for missing in ("/v1/roster/imports/00000000-0000-0000-0000-000000000000", "/v1/roster/imports/niet-een-id"):
        assert (await w.client.get(missing, headers=await w.headers("school_admin"))).status == 404


@pytest.mark.parametrize("how", ["between chunks", "in the middle of a chunk"])
async def test_an_import_resumes_after_the_service_stopped_half_way(unique, how):
    db = f"job_resume_{unique}"
    async with AsyncExitStack() as first:
        w = await first.enter_async_context(world(db, **SMALL_CHUNKS))
        before = len(await w.events("identity.student_changed"))
        worker = w.app[ROSTER_WORKER]
        async with w.holding_student("100234"):
            status, job = await w.import_csv(five_rows(), wait=False)
            assert status == 202
            await until(w, job["import_id"], lambda j: j["rows_done"] == 2)  # the first chunk is committed
            # the service is told to stop while the second chunk waits for the lock
            stopping = asyncio.create_task(worker.stop_and_wait())
            async with asyncio.timeout(10):
                while not worker.stopping:
                    await asyncio.sleep(0.01)
            if how == "in the middle of a chunk":
                # ... and dies before that chunk commits (its connection is cut, as when the process is
                # killed): the chunk's transaction rolls back, its advisory lock is gone
                async with asyncio.timeout(10):
                    while not (pid := await w.fetchval(
                            """SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                               AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO students%'""")):
                        await asyncio.sleep(0.01)
                assert await w.fetchval("SELECT pg_terminate_backend($1)", pid)
                await stopping
        await stopping  # between chunks: the chunk in hand is finished once the lock is gone
        state = await w.import_state(job["import_id"])
        rows_left = await w.fetchval("SELECT count(*) FROM roster_import_rows")
    assert state["state"] == "running"
    assert (state["rows_done"], rows_left) == ((4, 1) if how == "between chunks" else (2, 3))

    async with world(db, demo=False, **SMALL_CHUNKS) as w:  # the service starts again: the job goes on
        job = await w.finished_import(job["import_id"])
        assert (job["state"], job["rows_done"], job["created"], job["updated"]) == ("done", 5, 4, 1)
        for number in [*NEW_NUMBERS, "100234"]:
            assert await w.fetchval("SELECT count(*) FROM students WHERE student_number = $1", number) == 1
        events = (await w.events("identity.student_changed"))[before:]
        assert sorted(e["student_number"] for e in events) == sorted([*NEW_NUMBERS, "100234"]), \
            "every change announced once"
        assert await w.fetchval("SELECT count(*) FROM roster_import_rows") == 0


async def test_two_replicas_never_work_the_same_import(unique):
    db = f"job_replicas_{unique}"
    knobs = dict(roster_import_chunk_size=3, roster_import_poll_seconds=0.02)
    async with world(db, **knobs) as a, world(db, demo=False, **knobs) as b:
        numbers = [f"5{i:05d}" for i in range(90)]
        csv = CSV_HEADER + "".join(f"{n};Leerling{n};;;Replica;01-01-2010;4r;4;;;\n" for n in numbers)
        status, job = await a.import_csv(csv.encode(), wait=False)
        assert status == 202
        b.app[ROSTER_WORKER].wake()
        job = await b.finished_import(job["import_id"])
        assert (job["state"], job["rows_done"], job["created"], job["updated"], job["unchanged"]) == \
            ("done", 90, 90, 0, 0)
        events = await import_events(a, numbers)
        assert len(events) == 90 and len({e["student_id"] for e in events}) == 90, "each student announced once"
        assert await a.fetchval("SELECT count(*) FROM students WHERE achternaam = 'Replica'") == 90


async def test_a_chunk_that_keeps_failing_fails_the_job_and_its_rows_go(unique, caplog):
    caplog.set_level(logging.INFO)
    async with world(f"job_fail_{unique}", roster_import_max_attempts=2, **SMALL_CHUNKS) as w:
        # a constraint the third row breaks (as a database that refuses a row would)
        await w.execute("ALTER TABLE students ADD CONSTRAINT no_kapot CHECK (roepnaam <> 'Kapot') NOT VALID")
        csv = CSV_HEADER + "400001;Anna;;;Aalders;01-01-2010;4n;4;;;\n400002;Bram;;;Bos;01-01-2010;4n;4;;;\n" \
            + f"400003;Kapot;;;Geheim;01-01-2010;4n;4;;{BSNS[0]};\n400004;Dirk;;;Dekker;01-01-2010;4n;4;;;\n"
        status, job = await w.import_csv(csv.encode(), wait=False)
        assert status == 202
        job = await w.finished_import(job["import_id"], timeout=30)  # a retry after 2 s, then it gives up
        assert (job["state"], job["state_label"], job["rows_done"], job["created"]) == ("failed", "Mislukt", 2, 2)
        assert job["error"] and "opnieuw" in job["error"] and job["detail"] == job["error"] and job["finished_at"]
        assert await w.fetchval("SELECT count(*) FROM roster_import_rows") == 0, "a failed job keeps no rows"
        assert await w.fetchval("SELECT attempts FROM roster_imports") == 2
        assert "roster import chunk failed" in caplog.text
        assert "Geheim" not in caplog.text and "Kapot" not in caplog.text and BSNS[0] not in caplog.text
        await w.execute("ALTER TABLE students DROP CONSTRAINT no_kapot")
        status, again = await w.import_csv(csv.encode())
        assert status == 202 and again["state"] == "done" and (again["created"], again["unchanged"]) == (2, 2)
