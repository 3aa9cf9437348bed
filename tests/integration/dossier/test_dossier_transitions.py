"""Every transition the rules forbid answers 409 with a Dutch reason and changes nothing; versions
(ETag / If-Match) keep two people from overwriting each other."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.integration.dossier.world import ASSESSMENT, GUIDANCE, World, complete_part_a


@pytest.fixture(scope="module")
async def states(world: World) -> dict:
    """One dossier in each state (the forbidden actions below change none of them)."""
    school = await world.school(parent_rule="none")
    mbo = await world.mbo()
    out = {"world": world, "mbo": mbo}
    for key in ("part_a", "part_b", "part_b_started", "agreement", "completed", "archived"):
        s = await world.student(school)
        if key == "part_a":
            d = await world.create(s, mbo)
        elif key == "part_b_started":
            d = await world.to_part_b(s, mbo)
            d = await world.act(d["id"], "part-b/start", world.as_mentor(s.klass.mentors[0]))
        elif key == "agreement":
            d = await world.to_agreement(s, mbo)
        elif key == "completed":
            d = await world.to_completed(s, mbo)
        else:
            d = await world.to_part_b(s, mbo)
            if key == "archived":
                d = await world.act(d["id"], "archive", world.as_mentor(s.klass.mentors[0]))
        out[key] = (s, d["id"])
    return out


def _student(w, s):
    return w.as_student(s)


def _mentor(w, s):
    return w.as_mentor(s.klass.mentors[0])


# action: (caller, method, path, body, {state: expected code})
WRONG = "wrong-state"
DONE = "dossier-completed"
ARCHIVED = "dossier-archived"
ACTIONS = {
    "save_part_a": (_student, "PUT", "part-a/motivation", {"answers": {"motivation": "x"}},
                    {"part_b": WRONG, "agreement": WRONG, "completed": DONE, "archived": ARCHIVED}),
    "submit": (_student, "POST", "submit", "mentor",
               {"part_b": WRONG, "agreement": WRONG, "completed": DONE, "archived": ARCHIVED}),
    "reset": (_mentor, "POST", "reset-to-part-a", None,
              {"part_a": WRONG, "part_b_started": "part-b-started", "agreement": WRONG, "completed": DONE,
               "archived": ARCHIVED}),
    "reset_by_student": (_student, "POST", "reset-to-part-a", None,
                         {"part_a": WRONG, "part_b_started": "part-b-started", "agreement": WRONG}),
    "start_part_b": (_mentor, "POST", "part-b/start", None,
                     {"part_a": WRONG, "agreement": WRONG, "completed": DONE, "archived": ARCHIVED}),
    "save_part_b_dossier": (_mentor, "PUT", "part-b/assessment_advice", {"answers": ASSESSMENT},
                            {"part_a": WRONG, "agreement": WRONG, "completed": DONE, "archived": ARCHIVED}),
    "send_part_b": (_mentor, "POST", "send-part-b", None,
                    {"part_a": WRONG, "part_b": "part-b-incomplete", "agreement": WRONG, "completed": DONE,
                     "archived": ARCHIVED}),
    "save_agreement": (_student, "PUT", "agreement", {"remark": "x"},
                       {"part_a": WRONG, "part_b": WRONG, "completed": DONE, "archived": ARCHIVED}),
    "parent_link": (_student, "POST", "parent-link", {"parent_email": "ouder@example.nl"},
                    {"part_b": WRONG, "agreement": "parent-rule-none", "completed": DONE}),
    "back_to_part_a": (_student, "POST", "back-to-part-a", None,
                       {"part_a": WRONG, "part_b": WRONG, "completed": DONE, "archived": ARCHIVED}),
    "complete": (_student, "POST", "complete", None,
                 {"part_a": WRONG, "part_b": WRONG, "completed": DONE, "archived": ARCHIVED}),
    "archive": (_mentor, "POST", "archive", None, {"archived": "already-archived"}),
    "reactivate": (_student, "POST", "reactivate", None, {"part_a": "not-archived", "completed": "not-archived"}),
    "remind": (_mentor, "POST", "reminders", None,
               {"part_a": WRONG, "part_b": WRONG, "completed": DONE, "archived": ARCHIVED}),
}
CASES = [pytest.param(action, state, code, id=f"{action}-in-{state}")
         for action, (*_, refusals) in ACTIONS.items() for state, code in refusals.items()]


async def _snapshot(w: World, dossier_id: str) -> tuple:
    async with w.db.acquire() as conn:
        return (await conn.fetchrow("SELECT * FROM dossiers WHERE id = $1", uuid.UUID(dossier_id)),
                await conn.fetchval("SELECT count(*) FROM history WHERE dossier_id = $1", uuid.UUID(dossier_id)),
                await conn.fetch("SELECT * FROM dossier_sections WHERE dossier_id = $1 ORDER BY section_id",
                                 uuid.UUID(dossier_id)),
                await conn.fetchval("SELECT count(*) FROM outbox"))


@pytest.mark.parametrize("action, state, code", CASES)
async def test_forbidden_transition_is_409_with_a_dutch_reason_and_changes_nothing(states, action, state, code):
    w: World = states["world"]
    student, dossier_id = states[state]
    caller, method, path, body, _ = ACTIONS[action]
    if body == "mentor":
        body = {"mentor_id": str(student.klass.mentors[0].staff_id)}
    before = await _snapshot(w, dossier_id)
    if method == "PUT" and "/" in path:  # a section: its own version
        section = path.split("/")[1]
        view = await w.get(dossier_id, caller(w, student))
        version = view["versions"].get(section, 0)
    else:
        version = before[0]["version"]
    status, problem = await w.call(method, f"/v1/dossiers/{dossier_id}/{path}", caller(w, student), json=body,
                                   version=version)
    assert status == 409, problem
    assert problem["code"] == code and problem["title"] == "Niet toegestaan in deze stap"
    assert problem["detail"] and problem["detail"][0].isupper() and problem["detail"].endswith(".")
    assert any(word in problem["detail"] for word in ("dossier", "deel", "Deel", "herinnering", "ouder")), problem
    after = await _snapshot(w, dossier_id)
    assert after == before, "a refused transition changes nothing (no row, no history, no event)"


def test_every_action_is_refused_somewhere():
    assert len(CASES) >= 50


async def test_mbo_handled_only_once_and_only_for_completed(states):
    w: World = states["world"]
    mbo = w.as_mbo(states["mbo"])
    student, done = states["completed"]
    _, agreement = states["agreement"]
    status, _ = await w.call("POST", f"/v1/mbo/dossiers/{agreement}/handled", mbo, version=1)
    assert status == 404, "not completed: not there for the MBO"
    version = await w.version(done)
    d = (await w.call("POST", f"/v1/mbo/dossiers/{done}/handled", mbo, version=version, expect=200))[1]
    status, problem = await w.call("POST", f"/v1/mbo/dossiers/{done}/handled", mbo, version=d["version"])
    assert status == 409 and problem["code"] == "already-handled"


# --------------------------------------------------------------------------- versions


async def test_a_write_without_if_match_is_428_and_a_stale_one_412(world: World):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    student = world.as_student(s)
    d = await world.fill_part_a(s, await world.create(s, mbo), mbo)
    before = await world.version(d["id"])
    r = await world.client.post(f"/v1/dossiers/{d['id']}/submit", headers=student,
                                json={"mentor_id": str(s.klass.mentors[0].staff_id)})
    problem = await r.json()
    assert r.status == 428 and problem["code"] == "version-required" and "If-Match" in problem["detail"]
    status, problem = await world.call("POST", f"/v1/dossiers/{d['id']}/submit", student, version=before - 1,
                                       json={"mentor_id": str(s.klass.mentors[0].staff_id)})
    assert status == 412 and problem["code"] == "version-mismatch" and problem["current_version"] == before
    assert "intussen door iemand anders gewijzigd" in problem["detail"]
    assert await world.version(d["id"]) == before
    r = await world.client.put(f"/v1/dossiers/{d['id']}/part-a/motivation", headers=student,
                               json={"answers": {"motivation": "x"}})
    assert r.status == 428
    # weak and listed validators are understood
    r = await world.client.post(f"/v1/dossiers/{d['id']}/submit",
                                headers={**student, "If-Match": f'"999", W/"{before}"'},
                                json={"mentor_id": str(s.klass.mentors[0].staff_id)})
    assert r.status == 200 and r.headers["ETag"] == f'"{before + 1}"'


async def test_two_people_editing_the_same_section_cannot_overwrite_each_other(world: World):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    d = await world.to_part_b(s, mbo)
    mentor, counsellor = world.as_mentor(s.klass.mentors[0]), world.as_counsellor(school)
    view = await world.get(d["id"], mentor)
    version = view["versions"]["assessment_advice"]
    first = {**ASSESSMENT, "argumentatie": "Mentor schrijft dit."}
    second = {**ASSESSMENT, "argumentatie": "Decaan schrijft dat."}
    results = await asyncio.gather(
        world.call("PUT", f"/v1/dossiers/{d['id']}/part-b/assessment_advice", mentor, json={"answers": first},
                   version=version),
        world.call("PUT", f"/v1/dossiers/{d['id']}/part-b/assessment_advice", counsellor, json={"answers": second},
                   version=version))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 412]
    winner = next(body for status, body in results if status == 200)
    loser = next(body for status, body in results if status == 412)
    assert "Dit onderdeel is intussen door iemand anders gewijzigd" in loser["detail"]
    stored = (await world.get(d["id"], mentor))["part_b_dossier"]["assessment_advice"]["argumentatie"]
    assert stored == winner["answers"]["argumentatie"]
    # the same for the student-specific part, saved through two dossiers of the same student at once
    d2 = await world.to_part_b(s, mbo)
    results = await asyncio.gather(*(
        world.call("PUT", f"/v1/dossiers/{dossier}/part-b/guidance", who, json={"answers": GUIDANCE}, version=0)
        for dossier, who in ((d["id"], mentor), (d2["id"], counsellor))))
    assert sorted(status for status, _ in results) == [200, 412]


async def test_section_of_another_part_or_unknown_is_404(world: World):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    d = await world.create(s, mbo)
    for path in ("part-a/guidance", "part-a/bestaat_niet"):
        status, problem = await world.call("PUT", f"/v1/dossiers/{d['id']}/{path}", world.as_student(s),
                                           json={"answers": {}}, version=0)
        assert status == 404 and "bestaat niet" in problem["detail"]
    answers = complete_part_a(mbo)["follow_up_programme"] | {
        "keuzevervolgopleiding": {**mbo.choice(), "crebo": "11111"}}
    status, problem = await world.call("PUT", f"/v1/dossiers/{d['id']}/part-a/follow_up_programme",
                                       world.as_student(s), json={"answers": answers},
                                       version=d["versions"]["follow_up_programme"])
    assert status == 422 and problem["errors"] == [
        {"field": "answers.keuzevervolgopleiding", "message": "Het crebonummer hoort niet bij deze opleiding."}]
