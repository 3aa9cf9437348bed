"""Receiving schools of every kind (issue 11, item 5): the administrator registers a HAVO or VMBO
school as well as an MBO, says whether it takes part in Doorstroom, and gives it a catalogue of
years, profiles or leerwegen; its staff have the receiving-staff role; the public catalogue lists
every receiving school, taking part or not."""
from __future__ import annotations

import uuid


async def test_an_admin_registers_a_havo_school_with_profiles_and_staff(w):
    admin = await w.headers("admin")
    tag = uuid.uuid4().hex[:6]
    r = await w.client.post("/v1/schools", json={"kind": "havo", "name": f"Stedelijk Lyceum {tag}", "city": "Enschede",
                                                 "participates": True}, headers=admin)
    assert r.status == 201, await r.text()
    school = await r.json()
    assert school["kind"] == "havo" and school["participates"] is True
    school_id = school["school_id"]

    r = await w.client.post(f"/v1/schools/{school_id}/programmes", json={
        "name": "HAVO 4", "profile": "Natuur en Gezondheid"}, headers=admin)
    assert r.status == 201, await r.text()
    [programme] = (await r.json())["programmes"]
    assert programme["profile"] == "Natuur en Gezondheid" and programme["crebo"] is None
    assert programme["label"] == "HAVO 4 – Natuur en Gezondheid"
    r = await w.client.post(f"/v1/schools/{school_id}/programmes", json={
        "name": "HAVO 4", "profile": "Economie en Maatschappij"}, headers=admin)
    assert r.status == 201 and len((await r.json())["programmes"]) == 2, "same year, another profile"
    [event] = [e for e in await w.events("identity.school_changed") if e["school_id"] == school_id][-1:]
    assert event["kind"] == "havo"
    assert {p["profile"] for p in event["programmes"]} == {"Natuur en Gezondheid", "Economie en Maatschappij"}
    assert all(p["crebo"] is None for p in event["programmes"])

    # MBO fields do not fit a HAVO school, and an MBO programme needs them: named per field, nothing changed
    before = await w.fetchval("SELECT count(*) FROM programmes WHERE school_id = $1", uuid.UUID(school_id))
    r = await w.client.post(f"/v1/schools/{school_id}/programmes", json={
        "name": "Kok", "crebo": "25463", "level": 2, "pathway": "BBL"}, headers=admin)
    assert r.status == 422 and r.content_type == "application/problem+json"
    problem = await r.json()
    assert {e["field"] for e in problem["errors"]} == {"crebo", "level", "pathway"}
    assert "hoort alleen bij een mbo-opleiding" in problem["errors"][0]["message"]
    assert await w.fetchval("SELECT count(*) FROM programmes WHERE school_id = $1", uuid.UUID(school_id)) == before

    mbo = await (await w.client.post("/v1/schools", json={"kind": "mbo", "name": f"ROC {tag}"}, headers=admin)).json()
    r = await w.client.post(f"/v1/schools/{mbo['school_id']}/programmes", json={"name": "Kok"}, headers=admin)
    assert r.status == 422
    assert {e["field"] for e in (await r.json())["errors"]} == {"crebo", "level", "pathway"}
    assert "Vul de CREBO-code in" in (await r.json())["errors"][0]["message"]

    # the receiving-staff role belongs to a receiving school of any kind; a mentor does not
    r = await w.client.post("/v1/staff", json={"role": "mbo_staff", "name": "Ilse Intake", "school_id": school_id,
                                               "email": f"intake-{tag}@lyceum.example.nl"}, headers=admin)
    assert r.status == 201, await r.text()
    assert (await r.json())["role_label"] == "medewerker ontvangende school"
    r = await w.client.post("/v1/staff", json={"role": "mentor", "name": "Mo Mentor", "school_id": school_id,
                                               "email": f"mentor-{tag}@lyceum.example.nl"}, headers=admin)
    assert r.status == 422 and "hoort bij een VO-school" in (await r.json())["errors"][0]["message"]

    # the public catalogue: every receiving school, by kind, taking part or not
    await w.client.patch(f"/v1/schools/{school_id}", json={"participates": False}, headers=admin)
    listed = (await (await w.client.get("/v1/institutions", params={"kind": "havo"})).json())["institutions"]
    [lyceum] = [i for i in listed if i["school_id"] == school_id]
    assert lyceum["participates"] is False and {i["kind"] for i in listed} == {"havo"}
    r = await w.client.get("/v1/institutions", params={"q": "economie"})
    assert [p["profile"] for i in (await r.json())["institutions"] if i["school_id"] == school_id
            for p in i["programmes"]] == ["Economie en Maatschappij"], "a profile is found by the search"


async def test_bad_receiving_schools_are_refused_in_dutch_and_change_nothing(w):
    admin = await w.headers("admin")
    before = await w.fetchval("SELECT count(*) FROM schools")
    for body, field in (({"kind": "hbo", "name": "Hogeschool"}, "kind"),
                        ({"kind": "havo", "name": ""}, "name"),
                        ({"kind": "vmbo", "name": "x" * 5000}, "name"),
                        ({"kind": "havo", "name": "Lyceum", "participates": "misschien"}, "participates")):
        r = await w.client.post("/v1/schools", json=body, headers=admin)
        assert r.status == 422 and r.content_type == "application/problem+json", body
        problem = await r.json()
        assert field in {e["field"] for e in problem["errors"]}, problem
        assert problem["title"] or problem["detail"]
    assert await w.fetchval("SELECT count(*) FROM schools") == before

    school = await (await w.client.post("/v1/schools", json={"kind": "vmbo", "name": f"Vmbo {uuid.uuid4().hex[:6]}"},
                                        headers=admin)).json()
    r = await w.client.post(f"/v1/schools/{school['school_id']}/programmes",
                            json={"name": "VMBO 3", "profile": "p" * 1000}, headers=admin)
    assert r.status == 422 and "Te lang" in (await r.json())["errors"][0]["message"]
    assert await w.fetchval("SELECT count(*) FROM programmes WHERE school_id = $1",
                            uuid.UUID(school["school_id"])) == 0
