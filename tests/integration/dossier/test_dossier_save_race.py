"""A section save reads the dossier's sections in the statement that locks the dossier (one round
trip). Two saves of the same section at the same version that both wait for that lock must still
not both win: the one that gets the lock second sees the section as the first one left it."""
from __future__ import annotations

import asyncio
import uuid

from tests.integration.dossier.world import ASSESSMENT, World


async def _both_wait_for_the_lock(world: World, dossier_id: str, calls) -> list[tuple[int, dict]]:
    """Hold the dossier's row lock while ``calls`` start, so each waits for it; then let go."""
    async with world.db.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("SELECT 1 FROM dossiers WHERE id = $1 FOR UPDATE", uuid.UUID(dossier_id))
        tasks = [asyncio.ensure_future(call) for call in calls]
        await asyncio.sleep(0.5)  # both requests are now waiting for the lock
        await tx.rollback()
    return await asyncio.gather(*tasks)


async def test_two_part_a_saves_waiting_for_the_lock_cannot_both_win(world: World):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    d = await world.create(s, mbo)
    student = world.as_student(s)
    path = f"/v1/dossiers/{d['id']}/part-a/motivation"
    version = d["versions"].get("motivation", 0)
    results = await _both_wait_for_the_lock(world, d["id"], [
        world.call("PUT", path, student, version=version, json={"answers": {"motivation": text}})
        for text in ("Eerste versie.", "Tweede versie.")])
    assert sorted(status for status, _ in results) == [200, 412]
    winner = next(body for status, body in results if status == 200)
    loser = next(body for status, body in results if status == 412)
    assert loser["current_version"] == winner["version"] == version + 1
    stored = (await world.get(d["id"], student))["part_a"]["motivation"]["motivation"]
    assert stored == winner["answers"]["motivation"]


async def test_two_part_b_saves_waiting_for_the_lock_cannot_both_win(world: World):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    d = await world.to_part_b(s, mbo)
    mentor, counsellor = world.as_mentor(s.klass.mentors[0]), world.as_counsellor(school)
    version = (await world.get(d["id"], mentor))["versions"]["assessment_advice"]
    results = await _both_wait_for_the_lock(world, d["id"], [
        world.call("PUT", f"/v1/dossiers/{d['id']}/part-b/assessment_advice", who, version=version,
                   json={"answers": {**ASSESSMENT, "argumentatie": text}})
        for who, text in ((mentor, "Mentor schrijft dit."), (counsellor, "Decaan schrijft dat."))])
    assert sorted(status for status, _ in results) == [200, 412]
    winner = next(body for status, body in results if status == 200)
    stored = (await world.get(d["id"], mentor))["part_b_dossier"]["assessment_advice"]["argumentatie"]
    assert stored == winner["answers"]["argumentatie"]
