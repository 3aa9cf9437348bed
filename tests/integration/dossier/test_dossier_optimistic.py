"""Submit, the agreement and completing read the dossier without a lock and write the change with
its event in one statement, only while the dossier is still at the version read
(``routes.common.optimistic``). A change made by someone else in between writes nothing of theirs
(no history, no event); the request is read again, and the last try runs under the lock."""
from __future__ import annotations

import json
import uuid

import pytest

from services.dossier import store
from tests.integration.dossier.world import GUIDANCE, World


async def _rows(world: World, dossier_id, action: str, event_type: str) -> tuple[int, int]:
    """(history rows of ``action``, outbox rows of ``event_type``) of a dossier."""
    async with world.db.acquire() as conn:
        return (await conn.fetchval("SELECT count(*) FROM history WHERE dossier_id = $1 AND action = $2",
                                    uuid.UUID(str(dossier_id)), action),
                await conn.fetchval("SELECT count(*) FROM outbox WHERE event_type = $1 AND envelope->>'subject' = $2",
                                    event_type, str(dossier_id)))


async def test_a_change_in_between_writes_nothing_and_the_stale_version_gets_412(world: World, monkeypatch):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    d = await world.fill_part_a(s, await world.create(s, mbo), mbo)
    version = await world.version(d["id"])
    real_change = store.change

    async def someone_else_first(conn, row, *args, **kwargs):
        if kwargs.get("if_version") is not None:  # another tab saved a section meanwhile
            await conn.execute("UPDATE dossiers SET version = version + 1 WHERE id = $1", row["id"])
        return await real_change(conn, row, *args, **kwargs)

    monkeypatch.setattr(store, "change", someone_else_first)
    status, body = await world.call("POST", f"/v1/dossiers/{d['id']}/submit", world.as_student(s), version=version,
                                    json={"mentor_id": str(s.klass.mentors[0].staff_id)})
    assert status == 412 and body["current_version"] == version + 1
    assert await _rows(world, d["id"], "part_a_submitted", "dossier.part_a_submitted") == (0, 0)
    assert (await world.get(d["id"], world.as_student(s)))["state"] == "part_a"


@pytest.mark.parametrize("kept_changing", [1, 2])
async def test_when_the_optimistic_tries_lose_the_change_is_made_once_under_the_lock(world: World, monkeypatch,
                                                                                    kept_changing: int):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    d = await world.to_agreement(s, mbo)
    real_change = store.change
    lost = []

    async def lose_the_race(conn, row, *args, **kwargs):
        if kwargs.get("if_version") is not None and len(lost) < kept_changing:
            lost.append(row["version"])
            return None  # as if the dossier had changed since it was read: nothing written
        return await real_change(conn, row, *args, **kwargs)

    monkeypatch.setattr(store, "change", lose_the_race)
    student = world.as_student(s)
    saved = await world.call("PUT", f"/v1/dossiers/{d['id']}/agreement", student, version=d["version"],
                             json={"remark": "Eens."}, expect=200)
    lost.clear()
    done = await world.act(d["id"], "complete", student)
    assert done["state"] == "completed" and done["version"] == saved[1]["version"] + 1
    assert len(lost) == kept_changing
    assert await _rows(world, d["id"], "agreement_saved", "dossier.completed") == (1, 1)
    assert await _rows(world, d["id"], "completed", "dossier.completed") == (1, 1)
    async with world.db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM feed_entries WHERE dossier_id = $1",
                                   uuid.UUID(d["id"])) == 1
    event = await world.event("dossier.completed", d["id"])
    assert event["data"]["dossier_id"] == d["id"]


async def test_a_new_dossier_answers_as_it_reads_after(world: World):
    """Creating writes the dossier and returns it in one statement (nothing read again): the answer
    is the dossier as a read right after shows it, with the student-specific part B filled early."""
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    mentor = world.as_mentor(s.klass.mentors[0])
    await world.call("PUT", f"/v1/students/{s.student_id}/part-b/guidance", mentor,
                     json={"answers": GUIDANCE | {"lwoo": True}}, version=0, expect=200)
    for choice in (mbo, None):
        created = await world.create(s, choice)
        read = await world.get(created["id"], world.as_student(s))
        assert json.dumps(created) == json.dumps(read)  # the same answer, to the order of its keys
        assert await _rows(world, created["id"], "created", "dossier.created") == (1, 1)
