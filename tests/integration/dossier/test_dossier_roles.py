"""The role matrix: each role sees only what it must (student: own; mentor: their classes;
counsellor: their school; MBO: completed dossiers for their institution); the wrong role is 403,
not logged in 401, and what the caller may not see is 404, exactly like what does not exist."""
from __future__ import annotations

import uuid

import pytest

from tests.integration.dossier.world import World


@pytest.fixture(scope="module")
async def cast(world: World) -> dict:
    school = await world.school(classes=2)
    other_school = await world.school()
    mbo, other_mbo = await world.mbo(), await world.mbo()
    owner = await world.student(school, school.classes[0])
    classmate_other_class = await world.student(school, school.classes[1])
    agreement = await world.to_agreement(owner, mbo)
    completed = await world.to_completed(await world.student(school, school.classes[0]), mbo)
    unredeemed = world.issuer.headers("student", school_id=school.school_id)  # no student_id yet
    return {
        "world": world, "agreement": agreement["id"], "completed": completed["id"],
        "callers": {
            "own student": world.as_student(owner),
            "other student": world.as_student(classmate_other_class),
            "student without code": unredeemed,
            "mentor of the class": world.as_mentor(school.classes[0].mentors[1]),
            "mentor of another class": world.as_mentor(school.classes[1].mentors[0]),
            "mentor of another school": world.as_mentor(other_school.classes[0].mentors[0]),
            "counsellor": world.as_counsellor(school),
            "counsellor of another school": world.as_counsellor(other_school),
            "mbo staff": world.as_mbo(mbo),
            "other mbo staff": world.as_mbo(other_mbo),
            "school admin": world.issuer.headers("school_admin", school_id=school.school_id),
            "admin": world.issuer.headers("admin"),
            "parent account": world.issuer.headers("parent"),
            "expired token": {"Authorization": f"Bearer {world.issuer.token('counsellor', ttl=-60, school_id=school.school_id)}"},
            "nobody": {},
        },
    }


READ = {
    # caller: (status for the dossier in the agreement step, for the completed one)
    "own student": (200, 404),
    "other student": (404, 404),
    "student without code": (404, 404),
    "mentor of the class": (200, 200),
    "mentor of another class": (404, 404),
    "mentor of another school": (404, 404),
    "counsellor": (200, 200),
    "counsellor of another school": (404, 404),
    "mbo staff": (404, 200),
    "other mbo staff": (404, 404),
    "school admin": (403, 403),
    "admin": (403, 403),
    "parent account": (403, 403),
    "expired token": (401, 401),
    "nobody": (401, 401),
}


@pytest.mark.parametrize("caller, expected", list(READ.items()), ids=list(READ))
async def test_who_may_read_a_dossier(cast, caller, expected):
    w: World = cast["world"]
    for dossier_id, status in zip((cast["agreement"], cast["completed"]), expected):
        r = await w.client.get(f"/v1/dossiers/{dossier_id}", headers=cast["callers"][caller])
        body = await r.json()
        assert r.status == status, (caller, dossier_id, body)
        if status == 404:
            assert body["detail"] == "Dit dossier bestaat niet, of je hebt er geen toegang toe."
        if status == 200:
            assert body["id"] == dossier_id


async def test_an_unknown_dossier_looks_the_same_as_someone_elses(cast):
    w: World = cast["world"]
    for path in (f"/v1/dossiers/{uuid.uuid4()}", "/v1/dossiers/geen-id"):
        r = await w.client.get(path, headers=cast["callers"]["counsellor"])
        assert r.status == 404
        assert (await r.json())["detail"] == "Dit dossier bestaat niet, of je hebt er geen toegang toe."


# endpoint: roles allowed (any other role is 403 before anything else is looked at)
WRITES = {
    ("POST", "submit"): {"student"},
    ("PUT", "part-a/motivation"): {"student"},
    ("POST", "reset-to-part-a"): {"student", "mentor", "counsellor"},
    ("POST", "part-b/start"): {"mentor", "counsellor"},
    ("PUT", "part-b/guidance"): {"mentor", "counsellor"},
    ("POST", "send-part-b"): {"mentor", "counsellor"},
    ("PUT", "agreement"): {"student"},
    ("POST", "parent-link"): {"student"},
    ("POST", "back-to-part-a"): {"student"},
    ("POST", "complete"): {"student"},
    ("POST", "archive"): {"mentor", "counsellor"},
    ("POST", "reactivate"): {"student", "mentor", "counsellor"},
    ("POST", "reminders"): {"mentor", "counsellor"},
    ("GET", "history"): {"student", "mentor", "counsellor"},
    ("GET", "audit"): {"counsellor"},
}
ROLES = ["student", "mentor", "counsellor", "mbo_staff", "school_admin", "admin", "parent"]


@pytest.mark.parametrize("method, path", list(WRITES), ids=[f"{m} {p}" for m, p in WRITES])
async def test_the_wrong_role_is_403_for_every_action(cast, method, path):
    w: World = cast["world"]
    for role in ROLES:
        if role in WRITES[(method, path)]:
            continue
        r = await w.client.request(method, f"/v1/dossiers/{cast['agreement']}/{path}",
                                   headers={**w.issuer.headers(role), "If-Match": '"1"'}, json={})
        body = await r.json()
        assert r.status == 403, (role, body)
        assert body["detail"].startswith("Dit mag alleen een ")


@pytest.mark.parametrize("path, roles", [
    ("/v1/dossiers", {"student"}), ("/v1/me/data", {"student"}), ("/v1/me/mentors", {"student"}),
    ("/v1/overviews/worklist", {"mentor", "counsellor"}), ("/v1/overviews/students", {"mentor", "counsellor"}),
    ("/v1/overviews/classes", {"mentor", "counsellor"}),
    ("/v1/overviews/counts", {"mentor", "counsellor"}), ("/v1/overviews/agreement-overdue", {"mentor", "counsellor"}),
    ("/v1/mbo/dossiers", {"mbo_staff"}), (f"/v1/students/{uuid.uuid4()}/part-b", {"mentor", "counsellor"}),
])
async def test_overviews_are_for_their_roles(cast, path, roles):
    w: World = cast["world"]
    claims = {"student": {"student_id": uuid.uuid4()}, "mentor": {"staff_id": uuid.uuid4()},
              "counsellor": {"school_id": uuid.uuid4()}, "mbo_staff": {"institution_id": uuid.uuid4()}}
    for role in ROLES:
        r = await w.client.get(path, headers=w.issuer.headers(role, **claims.get(role, {})))
        if role in roles:
            assert r.status != 403, (path, role)
        else:
            assert r.status == 403, (path, role, await r.text())
    assert (await w.client.get(path)).status == 401


async def test_student_specific_part_b_only_for_the_class_mentor_and_the_school(cast, world: World):
    school = await world.school(classes=2)
    s = await world.student(school, school.classes[0])
    path = f"/v1/students/{s.student_id}/part-b"
    assert (await world.client.get(path, headers=world.as_mentor(school.classes[0].mentors[0]))).status == 200
    assert (await world.client.get(path, headers=world.as_counsellor(school))).status == 200
    r = await world.client.get(path, headers=world.as_mentor(school.classes[1].mentors[0]))
    assert r.status == 404 and "leerling bestaat niet" in (await r.json())["detail"]
    other = await world.school()
    assert (await world.client.get(path, headers=world.as_counsellor(other))).status == 404
    r = await world.client.put(path + "/guidance", headers={**world.as_mentor(school.classes[1].mentors[0]),
                                                            "If-Match": '"0"'}, json={"answers": {}})
    assert r.status == 404


async def test_a_student_sees_part_b_only_once_it_was_sent(world: World):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    d = await world.to_part_b(s, mbo)
    mentor = world.as_mentor(s.klass.mentors[0])
    await world.save_b(d["id"], "guidance", {"lwoo": True}, mentor)
    seen = await world.get(d["id"], world.as_student(s))
    assert seen["part_b_visible"] is False and seen["part_b_student"] is None and seen["part_b_dossier"] is None
    assert "guidance" not in seen["versions"] and "guidance" not in seen["progress"]
    assert (await world.get(d["id"], mentor))["part_b_student"]["guidance"] == {"lwoo": True}


async def test_the_school_sees_a_part_a_draft_only_once_the_student_sent_it(world: World):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    d = await world.create(s, mbo)
    await world.call("PUT", f"/v1/dossiers/{d['id']}/part-a/motivation", world.as_student(s),
                     json={"answers": {"motivation": "Geheim concept"}}, version=0, expect=200)
    for staff in (world.as_mentor(s.klass.mentors[0]), world.as_counsellor(school)):
        seen = await world.get(d["id"], staff)
        assert seen["part_a_visible"] is False and seen["part_a"] == {} and "Geheim" not in str(seen)
        assert seen["step_progress"] > 0 and seen["state_label"] == "Deel A invullen", "how far, not what"
    own = await world.get(d["id"], world.as_student(s))
    assert own["part_a_visible"] is True and own["part_a"]["motivation"]["motivation"] == "Geheim concept"
    d = await world.to_part_b(s, mbo)
    assert (await world.get(d["id"], world.as_mentor(s.klass.mentors[0])))["part_a_visible"] is True
