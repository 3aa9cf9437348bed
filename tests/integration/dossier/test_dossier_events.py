"""The dossier's events from a subscriber's side: a dossier's whole life (made, sent, completed,
handled by the MBO, archived, activated again) read off the broker by a subscriber the project did
not write, each message checked against the published contract, and the call the contract names
for its details made with the ids the event carries."""
from __future__ import annotations

import asyncio
from datetime import datetime

from shared.events.envelope import CONTENT_TYPE
from tests.integration.dossier.world import World
from tests.support.contract import errors, message_validator, published
from tests.support.outside import OutsideSubscriber

LIFE = ["dossier.created", "dossier.part_a_submitted", "dossier.part_b_started", "dossier.part_b_sent",
        "dossier.completed", "dossier.handled", "dossier.archived", "dossier.reactivated"]


def _url(fetch: dict, data: dict) -> str:
    path = fetch["path"]
    for name, expression in fetch.get("parameters", {}).items():
        assert expression == f"$message.payload#/data/{name}"
        path = path.replace("{" + name + "}", str(data[name]))
    return path


async def test_a_dossiers_life_read_by_an_outside_subscriber(world: World):
    school, mbo = await world.school(), await world.mbo()
    s = await world.student(school)
    mentor = s.klass.mentors[0]
    outside = await asyncio.to_thread(OutsideSubscriber, world.exchange, "dossier.#")
    try:
        d = await world.to_completed(s, mbo)
        dossier_id = d["id"]
        _, answer = await world.call("POST", f"/v1/mbo/dossiers/{dossier_id}/handled", world.as_mbo(mbo),
                                      version=await world.version(dossier_id), expect=200)
        await world.act(dossier_id, "archive", world.as_mentor(mentor))
        await world.act(dossier_id, "reactivate", world.as_student(s))

        def ours(received) -> list:
            return [m for m in received if m.json.get("subject") == dossier_id]

        received = await asyncio.to_thread(
            outside.take_until, lambda r: {m.json["type"] for m in ours(r)} >= set(LIFE), 20, "the dossier's events")
    finally:
        await asyncio.to_thread(outside.close)

    doc = published()
    events = {}
    for m in ours(received):
        assert m.content_type == CONTENT_TYPE
        event = m.cloudevent()  # the CloudEvents SDK, structured mode
        assert event.get_subject() == dossier_id and event.get_type() == m.routing_key
        assert errors(message_validator(m.routing_key), m.json) == [], m.routing_key
        events[m.routing_key] = (event, m.json)
    assert set(LIFE) <= set(events)

    for name in LIFE:
        event, wire = events[name]
        data = wire["data"]
        student_id = data["student"]["student_id"] if name == "dossier.completed" else data["student_id"]
        assert data["dossier_id"] == dossier_id and student_id == str(s.student_id), name
        fetch = doc["components"]["messages"][name.replace(".", "_")]["x-fetch"]
        assert fetch["service"] == "dossier", name
        _, view = await world.call(fetch["method"], _url(fetch, data), world.as_student(s), expect=200)
        assert view["id"] == dossier_id, name

    # what the MBO acts on, and reads with the call the contract names
    for name in ("dossier.completed", "dossier.handled"):
        data = events[name][1]["data"]
        assert data["institution_id"] == str(mbo.institution_id)
        fetch = doc["components"]["messages"][name.replace(".", "_")]["x-fetch"]
        _, view = await world.call(fetch["method"], _url(fetch, data), world.as_mbo(mbo), expect=200)
        assert view["id"] == dossier_id and view["state"] == "completed"
    completed = events["dossier.completed"][1]["data"]
    assert completed["programme"]["programme_id"] == str(mbo.programme_id)
    assert completed["school"]["school_id"] == str(school.school_id)

    handled = events["dossier.handled"][1]["data"]
    assert handled["school_id"] == str(school.school_id) and handled["programme_id"] == str(mbo.programme_id)
    assert datetime.fromisoformat(handled["handled_at"]) == datetime.fromisoformat(answer["handled_at"]), \
        "the event is written with the change"
    for name, role in (("dossier.archived", "mentor"), ("dossier.reactivated", "student")):
        data = events[name][1]["data"]
        assert data["by_role"] == role
        assert data["school_id"] == str(school.school_id) and data["institution_id"] == str(mbo.institution_id)
    # every event says when it happened, in order
    times = [events[name][0].get_time() for name in LIFE]
    assert times == sorted(times)
