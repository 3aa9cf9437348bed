"""Parents have no account: a signed, expiring link lets them read the one dossier and consent or
object. The school's parent rule decides whether that is needed (consent), offered (inspection)
or not asked (none)."""
from __future__ import annotations

import uuid
from datetime import timedelta

from services.dossier.context import PARENT_SECRET, now
from services.dossier.domain import parent_links
from tests.integration.dossier.world import ADULT, MINOR, World, token_from


async def _agreement_with_link(world: World, rule: str, born=MINOR):
    school = await world.school(parent_rule=rule)
    mbo = await world.mbo()
    s = await world.student(school, born=born)
    d = await world.to_agreement(s, mbo)
    parent = f"ouder-{uuid.uuid4().hex[:8]}@example.nl"
    return s, d, parent


async def _send_link(world: World, s, d, parent: str, count: int = 1) -> str:
    await world.act(d["id"], "parent-link", world.as_student(s), json={"parent_email": parent})
    mails = await world.mails_to(parent, count)
    return token_from(mails[-1])


async def test_a_valid_link_reads_the_dossier_and_is_audited(world: World):
    s, d, parent = await _agreement_with_link(world, "consent")
    token = await _send_link(world, s, d, parent)
    r = await world.client.get(f"/v1/parent/dossier?token={token}")
    assert r.status == 200
    body = await r.json()
    assert body["id"] == d["id"] and body["part_b_visible"] and body["student"]["roepnaam"] == "Roos"
    async with world.db.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM audit_log WHERE dossier_id = $1 AND actor_role = 'parent'",
                                  uuid.UUID(d["id"]))
    assert row["kind"] == "view" and row["purpose"] == "view" and row["actor_account_id"] is None


async def test_tampered_missing_and_expired_links(world: World):
    s, d, parent = await _agreement_with_link(world, "consent")
    token = await _send_link(world, s, d, parent)
    head, mac = token.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    other_payload = parent_links.sign(b"not-the-secret", uuid.uuid4(), now() + timedelta(days=1))
    for bad in (f"{head}.{flipped}", other_payload, "kapot", token + "x", f"{head[:-1]}.{mac}"):
        r = await world.client.get("/v1/parent/dossier", headers={"X-Parent-Token": bad})
        problem = await r.json()
        assert r.status == 404 and problem["code"] == "parent-link-invalid", bad
        assert problem["detail"].startswith("Deze link is ongeldig")
    r = await world.client.get("/v1/parent/dossier")
    assert r.status == 401 and (await r.json())["code"] == "parent-link-missing"
    # a genuine link whose time has passed
    expired = parent_links.sign(world.app[PARENT_SECRET], uuid.uuid4(), now() - timedelta(seconds=1))
    r = await world.client.get("/v1/parent/dossier", headers={"X-Parent-Token": expired})
    problem = await r.json()
    assert r.status == 410 and problem["code"] == "parent-link-expired" and "verlopen" in problem["detail"]
    r = await world.client.post("/v1/parent/decision", headers={"X-Parent-Token": expired, "If-Match": '"1"'},
                                json={"decision": "consent"})
    assert r.status == 410


async def test_consent_rule_an_objection_blocks_and_a_new_link_replaces_the_old(world: World):
    s, d, parent = await _agreement_with_link(world, "consent")
    student = world.as_student(s)
    old = await _send_link(world, s, d, parent)
    new = await _send_link(world, s, d, parent, count=2)
    r = await world.client.get("/v1/parent/dossier", headers={"X-Parent-Token": old})
    assert r.status == 410 and (await r.json())["code"] == "parent-link-revoked"
    seen = await (await world.client.get("/v1/parent/dossier", headers={"X-Parent-Token": new})).json()
    r = await world.client.post("/v1/parent/decision", headers={"X-Parent-Token": new, "If-Match": '"1"'},
                                json={"decision": "objection"})
    assert r.status == 412, "stale version"
    r = await world.client.post("/v1/parent/decision", headers={"X-Parent-Token": new, "If-Match": seen["etag"]},
                                json={"decision": "objection", "remark": "Wij willen eerst een gesprek."})
    assert r.status == 200
    body = await r.json()
    assert body["agreement"]["parent"]["decision"] == "objection"
    assert body["agreement"]["parent"]["remark"] == "Wij willen eerst een gesprek."
    [mail] = [m for m in await world.mails_to(s.email, 2) if "gereageerd" in m["Subject"]]
    assert "bezwaar" in mail.get_body().get_content()
    problem = await world.act(d["id"], "complete", student, expect=409)
    assert problem["code"] == "parent-objection" and "niet akkoord" in problem["detail"]
    # back to part A: the link is withdrawn, the decision belongs to the old round
    d2 = await world.act(d["id"], "back-to-part-a", student)
    assert d2["agreement"]["parent"]["decision"] is None
    r = await world.client.get("/v1/parent/dossier", headers={"X-Parent-Token": new})
    assert r.status == 410


async def test_inspection_rule_parents_are_informed_and_may_react_but_do_not_block(world: World):
    s, d, parent = await _agreement_with_link(world, "inspection")
    student = world.as_student(s)
    problem = await world.act(d["id"], "complete", student, expect=409)
    assert problem["code"] == "parent-not-informed"
    token = await _send_link(world, s, d, parent)
    [mail] = await world.mails_to(parent)
    assert "kunt u het dossier inzien" in mail.get_body().get_content()
    seen = await (await world.client.get("/v1/parent/dossier", headers={"X-Parent-Token": token})).json()
    assert seen["agreement"]["parent"]["consent_needed"] is False and seen["agreement"]["parent"]["has_say"]
    r = await world.client.post("/v1/parent/decision", headers={"X-Parent-Token": token, "If-Match": seen["etag"]},
                                json={"decision": "objection", "remark": "Liever een andere opleiding."})
    assert r.status == 200
    done = await world.act(d["id"], "complete", student)
    assert done["state"] == "completed" and done["agreement"]["parent"]["decision"] == "objection"
    r = await world.client.get("/v1/parent/dossier", headers={"X-Parent-Token": token})
    assert r.status == 410, "links end with completion"


async def test_no_parents_for_adults_or_under_the_none_rule(world: World):
    s, d, _ = await _agreement_with_link(world, "consent", born=ADULT)
    problem = await world.act(d["id"], "parent-link", world.as_student(s), json={"parent_email": "o@example.nl"},
                              expect=409)
    assert problem["code"] == "student-adult"
    assert (await world.act(d["id"], "complete", world.as_student(s)))["state"] == "completed"
    s, d, _ = await _agreement_with_link(world, "none")
    problem = await world.act(d["id"], "parent-link", world.as_student(s), json={"parent_email": "o@example.nl"},
                              expect=409)
    assert problem["code"] == "parent-rule-none"
    assert (await world.act(d["id"], "complete", world.as_student(s)))["state"] == "completed"


async def test_the_student_cannot_use_their_own_address_as_the_parents(world: World):
    s, d, _ = await _agreement_with_link(world, "consent")
    status, problem = await world.call("POST", f"/v1/dossiers/{d['id']}/parent-link", world.as_student(s),
                                       json={"parent_email": s.email.upper()}, version=d["version"])
    assert status == 422 and problem["errors"][0]["field"] == "parent_email"
