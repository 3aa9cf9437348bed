"""Schools and the MBO catalogue; the public catalogue students choose from; demo data."""
from __future__ import annotations

from services.identity.demo import load_demo
from shared.app import DB
from tests.integration.identity.conftest import MBO_UTRECHT_ID, VO_SCHOOL_ID


async def test_an_admin_builds_a_catalogue_and_every_change_is_published(w):
    admin = await w.headers("admin")
    r = await w.client.post("/v1/schools", json={"kind": "mbo", "name": "ROC Midden Nederland", "city": "Utrecht",
                                                 "brin": "25PZ"}, headers=admin)
    assert r.status == 201
    school_id = (await r.json())["school_id"]
    r = await w.client.post(f"/v1/schools/{school_id}/locations", json={
        "name": "Harmonielaan", "address": "Harmonielaan 1", "city": "Amersfoort"}, headers=admin)
    location_id = (await r.json())["locations"][0]["location_id"]
    r = await w.client.post(f"/v1/schools/{school_id}/programmes", json={
        "name": "Verzorgende IG", "crebo": "25491", "level": 3, "pathway": "BBL", "location_id": location_id},
        headers=admin)
    assert r.status == 201
    [programme] = (await r.json())["programmes"]
    assert programme["label"] == "Verzorgende IG (3 - BBL - Harmonielaan 1 - 25491)"
    events = [e for e in await w.events("identity.school_changed") if e["school_id"] == school_id]
    assert len(events) == 3 and events[-1]["programmes"][0]["crebo"] == "25491"
    assert events[-1]["locations"][0]["city"] == "Amersfoort"

    bad = await w.client.post(f"/v1/schools/{school_id}/programmes", json={
        "name": "X", "crebo": "123", "level": 5, "pathway": "BOT"}, headers=admin)
    assert bad.status == 422 and {e["field"] for e in (await bad.json())["errors"]} >= {"crebo", "level", "pathway"}
    r = await w.client.post(f"/v1/schools/{VO_SCHOOL_ID}/programmes", json={
        "name": "Verzorgende IG", "crebo": "25491", "level": 3, "pathway": "BBL"}, headers=admin)
    assert r.status == 409, "a VO school has no catalogue"
    r = await w.client.post("/v1/schools", json={"kind": "vo", "name": "Dubbel", "brin": "25PZ"}, headers=admin)
    assert r.status == 409

    # withdrawn from the catalogue: not offered; an institution that does not take part is still
    # listed (students apply there and hand the PDF over, issue 11 item 5), marked as such
    r = await w.client.patch(f"/v1/programmes/{programme['programme_id']}", json={"active": False}, headers=admin)
    assert r.status == 200 and (await w.events("identity.school_changed"))[-1]["programmes"] == []
    await w.client.patch(f"/v1/schools/{school_id}", json={"participates": False}, headers=admin)
    listed = {i["name"]: i for i in (await (await w.client.get("/v1/institutions")).json())["institutions"]}
    assert {"Grafisch Lyceum Rotterdam", "MBO Utrecht", "ROC van Twente", "ROC Midden Nederland"} <= set(listed)
    assert "Het Voorbeeld College" not in listed, "a sending VO school is no receiving school"
    assert listed["ROC Midden Nederland"]["participates"] is False and listed["MBO Utrecht"]["participates"]
    r = await w.client.get(f"/v1/institutions/{school_id}")
    assert r.status == 200 and (await r.json())["participates"] is False


async def test_students_search_the_public_catalogue(w):
    r = await w.client.get("/v1/institutions", params={"q": "juridisch"})
    [utrecht] = (await r.json())["institutions"]
    assert utrecht["name"] == "MBO Utrecht" and {p["name"] for p in utrecht["programmes"]} == {"Juridisch secretaresse"}
    assert "Juridisch secretaresse (4 - BOL - Australiëlaan 23 - 25196)" in [p["label"] for p in utrecht["programmes"]]
    r = await w.client.get("/v1/institutions", params={"q": "twente"})
    [twente] = (await r.json())["institutions"]
    assert len(twente["programmes"]) == 3, "a hit on the institution shows all its programmes"
    r = await w.client.get("/v1/institutions", params={"q": "25410"})
    assert [i["name"] for i in (await r.json())["institutions"]] == ["Grafisch Lyceum Rotterdam"]
    assert (await (await w.client.get("/v1/institutions", params={"q": "%"})).json())["institutions"] == []
    r = await w.client.get(f"/v1/institutions/{MBO_UTRECHT_ID}")
    assert r.status == 200 and len((await r.json())["locations"]) == 2
    assert (await w.client.get(f"/v1/institutions/{VO_SCHOOL_ID}")).status == 404
    assert (await w.client.get("/v1/institutions/geen-id")).status == 404


async def test_the_school_admin_sets_the_parent_rule_and_nothing_else(w):
    school_admin = await w.headers("school_admin")
    r = await w.client.patch(f"/v1/schools/{VO_SCHOOL_ID}", json={"parent_rule": "none"}, headers=school_admin)
    assert r.status == 200 and (await r.json())["parent_rule"] == "none"
    assert (await w.events("identity.school_changed"))[-1]["parent_rule"] == "none"
    r = await w.client.patch(f"/v1/schools/{VO_SCHOOL_ID}", json={"name": "Ander College"}, headers=school_admin)
    assert r.status == 403
    r = await w.client.patch(f"/v1/schools/{MBO_UTRECHT_ID}", json={"parent_rule": "none"}, headers=school_admin)
    assert r.status == 404
    r = await w.client.patch(f"/v1/schools/{VO_SCHOOL_ID}", json={"parent_rule": "soms"}, headers=school_admin)
    assert r.status == 422


async def test_demo_data_loads_again_without_duplicates_or_events(w):
    async with w.app[DB].acquire() as conn:
        counts = [await conn.fetchval(f"SELECT count(*) FROM {t}") for t in
                  ("schools", "programmes", "staff", "students", "accounts", "classes", "outbox")]
    logins = await load_demo(w.app[DB], w.settings)
    async with w.app[DB].acquire() as conn:
        again = [await conn.fetchval(f"SELECT count(*) FROM {t}") for t in
                 ("schools", "programmes", "staff", "students", "accounts", "classes", "outbox")]
    assert again == counts and counts[:4] == [6, 12, 7, 6]
    for login in logins:  # every printed login works
        await w.login(login.email, login.password)


async def test_the_admin_searches_and_pages_the_schools_others_see_their_own(w):
    admin = await w.headers("admin")

    async def names(**params) -> tuple[int, list[str]]:
        r = await w.client.get("/v1/schools", params={k: str(v) for k, v in params.items()}, headers=admin)
        assert r.status == 200, await r.text()
        body = await r.json()
        return body["total"], [s["name"] for s in body["schools"]]

    assert await names() == (6, ["De Waerdenborch", "Grafisch Lyceum Rotterdam", "Het Voorbeeld College",
                                 "MBO Utrecht", "ROC van Twente", "Stedelijk Lyceum"])
    assert await names(kind="vo") == (1, ["Het Voorbeeld College"])
    assert await names(q="utrecht") == (2, ["Het Voorbeeld College", "MBO Utrecht"]), "the city counts too"
    assert await names(q="MBO utrecht", kind="mbo") == (1, ["MBO Utrecht"])
    assert await names(q="twente roc") == (1, ["ROC van Twente"])
    assert await names(q="100%_") == (0, [])
    assert await names(page=2, page_size=4) == (6, ["ROC van Twente", "Stedelijk Lyceum"])
    assert await names(kind="havo") == (1, ["Stedelijk Lyceum"])
    r = await w.client.get("/v1/schools", params={"kind": "hbo", "page": "0", "page_size": "1000"}, headers=admin)
    assert r.status == 422
    assert {e["field"] for e in (await r.json())["errors"]} == {"kind", "page", "page_size"}

    r = await w.client.get("/v1/schools", params={"q": "twente"}, headers=await w.headers("school_admin"))
    body = await r.json()
    assert body["total"] == 1 and [s["name"] for s in body["schools"]] == ["Het Voorbeeld College"], \
        "staff see their own school only, whatever they ask"
