"""The pull API for machine clients (issue 12) against the real dossier service: the feed of an
institution's completed dossiers never skips or repeats across pages, also while dossiers
complete, and also when a completion commits after a later one; one dossier as JSON with the form's
labels and the intake fields; marking handled as the client; the MBO rules (another institution's,
or an unfinished dossier: 404); views in the view log under the client's name; a revoked client is
refused. Tokens come from the test issuer, as identity would make them (role client)."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from services.dossier import feed_store
from shared.events.identity_events import ClientRevoked
from tests.integration.dossier.world import Mbo, World

BOTH = "dossiers:read dossiers:handle"


def as_client(world: World, mbo: Mbo, scope: str = BOTH, client_id: uuid.UUID | None = None, **extra) -> dict:
    return world.as_client(mbo, scope, client_id, **extra)


async def feed(world: World, headers: dict, after: str | int = 0, limit: int = 50) -> dict:
    _, body = await world.call("GET", f"/v1/feed/completed?after={after}&limit={limit}", headers, expect=200)
    return body


async def read_all(world: World, headers: dict, cursor="0", limit: int = 2) -> tuple[list[str], str]:
    seen = []
    while True:
        page = await feed(world, headers, cursor, limit)
        seen += [d["dossier_id"] for d in page["dossiers"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return seen, cursor


async def test_the_feed_lists_completed_dossiers_of_the_institution_only(world: World):
    school, mbo, other_mbo = await world.school(), await world.mbo(), await world.mbo()
    done = [await world.to_completed(await world.student(school), mbo) for _ in range(3)]
    elsewhere = await world.to_completed(await world.student(school), other_mbo)
    unfinished = await world.to_agreement(await world.student(school), mbo)
    client = as_client(world, mbo)
    seen, cursor = await read_all(world, client)
    assert seen == [d["id"] for d in done], "in order of completion, each once, nothing else"
    page = await feed(world, client, cursor)
    assert page["dossiers"] == [] and page["next_cursor"] == cursor and page["has_more"] is False
    first = (await feed(world, client, 0, 1))["dossiers"][0]
    assert first["student"]["name"] and first["programme_name"] == mbo.programme_name
    assert first["href"] == f"/v1/feed/dossiers/{done[0]['id']}"
    assert (await feed(world, as_client(world, other_mbo)))["dossiers"][0]["dossier_id"] == elsewhere["id"]
    # the MBO rules: another institution's or an unfinished dossier does not exist for the client
    for dossier_id in (elsewhere["id"], unfinished["id"], str(uuid.uuid4())):
        status, _ = await world.call("GET", f"/v1/feed/dossiers/{dossier_id}", client)
        assert status == 404
        status, _ = await world.call("POST", f"/v1/feed/dossiers/{dossier_id}/handled", client)
        assert status == 404
    # a client is no person: the MBO inbox, a student's overview are not its routes
    for method, path in (("GET", "/v1/mbo/dossiers"), ("GET", "/v1/overviews/classes"), ("GET", "/v1/dossiers")):
        status, _ = await world.call(method, path, client)
        assert status == 403
    # and a person is no client
    status, _ = await world.call("GET", "/v1/feed/completed", world.as_mbo(mbo))
    assert status == 403
    status, body = await world.call("GET", "/v1/feed/completed", as_client(world, mbo, scope="dossiers:handle"))
    assert status == 403 and body["code"] == "insufficient-scope"


async def test_a_completion_that_commits_after_a_later_one_is_not_skipped(world: World):
    """The hazard of a sequence taken inside the completing transaction: the dossier that took the
    lower number commits after a reader has seen a higher one. Here a completion is held open (its
    entry written, not committed) while another completes and is read; after the first commits the
    reader, paging on from its cursor, still gets it."""
    school, mbo = await world.school(), await world.mbo()
    slow = await world.to_agreement(await world.student(school), mbo)
    fast_student = await world.student(school)
    fast = await world.to_agreement(fast_student, mbo)
    client = as_client(world, mbo)
    async with world.db.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            # what the completing transaction writes (the workflow's part is tested elsewhere): state and entry
            await conn.execute("UPDATE dossiers SET state = 'completed', completed_at = now(), final = "
                               "'{}'::jsonb WHERE id = $1", uuid.UUID(slow["id"]))
            await feed_store.enter(conn, uuid.UUID(slow["id"]), mbo.institution_id, datetime.now(UTC))
            await world.act(fast["id"], "complete", world.as_student(fast_student))
            seen, cursor = await read_all(world, client)
            assert seen == [fast["id"]]
        finally:
            await tx.commit()
    more, _ = await read_all(world, client, cursor)
    assert more == [slow["id"]], "the dossier that committed later comes after the cursor, not before it"
    assert (await read_all(world, client))[0] == [fast["id"], slow["id"]]


async def test_paging_while_completions_arrive_never_skips_or_repeats(world: World):
    school, mbo = await world.school(), await world.mbo()
    students = [await world.student(school) for _ in range(8)]
    waiting = [await world.to_agreement(s, mbo) for s in students]
    for s, d in list(zip(students, waiting))[:2]:
        await world.act(d["id"], "complete", world.as_student(s))
    client = as_client(world, mbo)

    async def complete_rest():
        for s, d in list(zip(students, waiting))[2:]:
            await world.act(d["id"], "complete", world.as_student(s))
            await asyncio.sleep(0.01)

    completing = asyncio.create_task(complete_rest())
    seen, cursor = [], "0"
    while True:  # a reader paging one at a time while the others complete
        page = await feed(world, client, cursor, 1)
        seen += [d["dossier_id"] for d in page["dossiers"]]
        cursor = page["next_cursor"]
        if completing.done() and not page["has_more"] and not page["dossiers"]:
            break
    await completing
    assert len(seen) == len(set(seen)) == 8, "each dossier once"
    assert set(seen) == {d["id"] for d in waiting}
    positions = [d["position"] for d in (await feed(world, client, 0, 50))["dossiers"]]
    assert positions == sorted(positions) and len(set(positions)) == 8


async def test_one_dossier_as_json_and_handled_by_the_client(world: World):
    school, mbo = await world.school(), await world.mbo()
    student = await world.student(school)
    done = await world.to_completed(student, mbo)
    client = as_client(world, mbo)
    _, body = await world.call("GET", f"/v1/feed/dossiers/{done['id']}", client, expect=200)
    intake = body["intake"]
    assert intake["name"] == "Roos de Winter" and intake["date_of_birth"] == student.date_of_birth.isoformat()
    assert intake["student_number"] and intake["school_name"] == school.name and intake["school_city"] == "Utrecht"
    assert intake["programme"]["programme_name"] == mbo.programme_name and intake["programme"]["crebo"] == mbo.crebo
    assert intake["parents"]["rule"] == "none"
    sections = {s["section_id"]: s for s in body["sections"]}
    assert {"personal_details", "follow_up_programme", "guidance", "assessment_advice"} <= set(sections)
    programme = {f["field_id"]: f for f in sections["follow_up_programme"]["fields"]}["keuzevervolgopleiding"]
    assert programme["label"] and mbo.programme_name in programme["text"]
    yes_no = [f for s in body["sections"] for f in s["fields"] if f["type"] == "yes_no"]
    assert yes_no and all(f["text"] in ("Ja", "Nee") for f in yes_no)
    assert body["dossier"]["state"] == "completed" and body["pdf_href"] == f"/v1/dossiers/{done['id']}/pdf?part=all"

    # the client may also read the view the document service renders the PDF from
    _, view = await world.call("GET", f"/v1/dossiers/{done['id']}?purpose=pdf", client, expect=200)
    assert view["id"] == done["id"]

    status, body = await world.call("POST", f"/v1/feed/dossiers/{done['id']}/handled",
                                    as_client(world, mbo, scope="dossiers:read"))
    assert status == 403 and body["code"] == "insufficient-scope"
    _, handled = await world.call("POST", f"/v1/feed/dossiers/{done['id']}/handled", client, expect=200)
    assert handled["handled_by"] == "Eduarte MBO Utrecht" and handled["handled_at"]
    _, again = await world.call("POST", f"/v1/feed/dossiers/{done['id']}/handled", client, expect=200)
    assert again["handled_at"] == handled["handled_at"], "marking again changes nothing"
    await world.event("dossier.handled", done["id"])
    # the MBO inbox shows it handled by the client; the history names the client
    _, inbox = await world.call("GET", "/v1/mbo/dossiers", world.as_mbo(mbo), expect=200)
    [row] = [d for d in inbox["dossiers"] if d["id"] == done["id"]]
    assert row["handled"] and row["handled_by"] == "Eduarte MBO Utrecht"
    _, history = await world.call("GET", f"/v1/dossiers/{done['id']}/history", world.as_counsellor(school), expect=200)
    assert [(e["action"], e["by"], e["by_role"]) for e in history["entries"]][-1] == \
        ("handled", "Eduarte MBO Utrecht", "client")
    # every fetch is in the view log, under the client's name
    _, audit = await world.call("GET", f"/v1/dossiers/{done['id']}/audit", world.as_counsellor(school), expect=200)
    by_client = [e for e in audit["entries"] if e["by_role"] == "client"]
    assert {e["what"] for e in by_client} >= {"feed:dossier", "dossier:part_a,part_b", "handled"}
    assert all(e["by_name"] == "Eduarte MBO Utrecht" for e in by_client)
    assert [e["label"] for e in by_client if e["what"] == "feed:dossier"] == [
        "Dossier opgehaald door een koppeling (studentadministratie)"]


async def test_a_revoked_client_is_refused(world: World):
    school, mbo = await world.school(), await world.mbo()
    await world.to_completed(await world.student(school), mbo)
    cid = uuid.uuid4()
    client = as_client(world, mbo, client_id=cid)
    other = as_client(world, mbo)
    await feed(world, client)
    await world.identity(ClientRevoked(client_id=cid, institution_id=mbo.institution_id, revoked_at=datetime.now(UTC)))
    status, body = await world.call("GET", "/v1/feed/completed", client)
    assert status == 401 and body["code"] == "access-ended"
    await feed(world, other)  # another client of the same institution works on
