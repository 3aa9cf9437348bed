"""Searching students and staff with the term in a body: matching (every word, any case, on names,
student number and class), paging in SQL, who sees whom, and Dutch problems for bad bodies."""
from __future__ import annotations

import uuid

import pytest

from tests.integration.identity.conftest import CSV_HEADER, World, world

ALL_IN_ORDER = ["Mirjam Hoenderloo", "Roos de Winter", "Sem Yilmaz", "Noor van Dijk", "Jaap Rierink", "Daan Smit"]


@pytest.fixture(scope="module")
async def sw():
    async with world(f"search_{uuid.uuid4().hex[:10]}") as w:
        yield w


async def search(w: World, who: str, body, path: str = "/v1/students/search") -> tuple[int, dict]:
    r = await w.client.post(path, json=body, headers=await w.headers(who))
    return r.status, await r.json()


async def names(w: World, who: str, body: dict) -> list[str]:
    status, page = await search(w, who, body)
    assert status == 200, page
    return [s["name"] for s in page["students"]]


async def test_every_word_must_match_in_any_case_on_names_number_and_class(sw):
    assert await names(sw, "counsellor", {}) == ALL_IN_ORDER, "ordered by class, achternaam, roepnaam"
    assert await names(sw, "counsellor", {"q": "roos"}) == ["Roos de Winter"]
    assert await names(sw, "counsellor", {"q": "WINTER  roos"}) == ["Roos de Winter"]
    assert await names(sw, "counsellor", {"q": "maria"}) == ["Roos de Winter"], "voornamen count"
    assert await names(sw, "counsellor", {"q": "100239"}) == ["Daan Smit"], "the student number counts"
    assert await names(sw, "counsellor", {"q": "4B"}) == ["Noor van Dijk", "Jaap Rierink", "Daan Smit"]
    assert await names(sw, "counsellor", {"q": "4b van"}) == ["Noor van Dijk"]
    assert await names(sw, "counsellor", {"q": "roos jaap"}) == [], "every word must occur"
    assert await names(sw, "counsellor", {"q": "%"}) == [] and await names(sw, "counsellor", {"q": "_"}) == []
    assert await names(sw, "counsellor", {"q": "", "school_year": 4}) == ALL_IN_ORDER
    assert await names(sw, "counsellor", {"q": None, "school_year": 3}) == []
    class_4a = str(await sw.class_id("4a"))
    assert await names(sw, "counsellor", {"class_id": class_4a, "q": "i"}) == ["Mirjam Hoenderloo", "Roos de Winter",
                                                                               "Sem Yilmaz"]


async def test_pages_come_from_the_database_with_the_total(sw):
    status, first = await search(sw, "school_admin", {"page_size": 4})
    assert status == 200 and (first["total"], first["page"], first["page_size"]) == (6, 1, 4)
    assert [s["name"] for s in first["students"]] == ALL_IN_ORDER[:4]
    _, second = await search(sw, "school_admin", {"page": 2, "page_size": 4})
    assert [s["name"] for s in second["students"]] == ALL_IN_ORDER[4:] and second["total"] == 6
    _, beyond = await search(sw, "school_admin", {"page": 3, "page_size": 4})
    assert beyond["students"] == [] and beyond["total"] == 6
    _, default = await search(sw, "school_admin", {})
    assert default["page_size"] == 50 and default["page"] == 1
    # the same item shape as GET /v1/students
    listed = await (await sw.client.get("/v1/students", headers=await sw.headers("school_admin"))).json()
    assert first["students"][0] == listed["students"][0]
    assert set(first["students"][0]) >= {"student_id", "student_number", "class_name", "activation", "has_bsn"}


async def test_each_role_searches_what_it_may_see(sw):
    assert await names(sw, "mentor_4a", {}) == ALL_IN_ORDER[:3]
    assert await names(sw, "mentor_4b", {"q": "roos"}) == [], "another mentor's student is not found"
    _, page = await search(sw, "mentor_4b", {"class_id": str(await sw.class_id("4a"))})
    assert page == {"total": 0, "page": 1, "page_size": 50, "students": []}
    for who in ("student", "mbo_staff", "admin"):
        status, problem = await search(sw, who, {"q": "roos"})
        assert status == 403 and problem["code"] == "forbidden-role", who
    r = await sw.client.post("/v1/students/search", json={"q": "roos"})
    assert r.status == 401


@pytest.mark.parametrize("body, field, message", [
    ({"q": "x" * 101}, "q", "Te lang: maximaal 100 tekens."),
    ({"page_size": 0}, "page_size", "Moet minimaal 1 zijn."),
    ({"page_size": 500}, "page_size", "Mag maximaal 200 zijn."),
    ({"page": 0}, "page", "Moet minimaal 1 zijn."),
    ({"page": "2"}, "page", "Verwacht een geheel getal."),
    ({"page_size": 2.5}, "page_size", "Verwacht een geheel getal."),
    ({"q": 12}, "q", "Verwacht tekst."),
    ({"class_id": "4a"}, "class_id", "Verwacht een geldige id."),
    ({"school_year": "vier"}, "school_year", "Verwacht een geheel getal."),
    ({"name": "roos"}, "name", "Dit veld is onbekend."),
])
async def test_bad_bodies_are_dutch_problems(sw, body, field, message):
    status, problem = await search(sw, "counsellor", body)
    assert status == 422 and problem["code"] == "invalid-input", problem
    assert problem["detail"] == "Niet alle gegevens zijn goed ingevuld."
    assert {"field": field, "message": message} in problem["errors"], problem["errors"]


async def test_not_json_and_not_an_object_are_refused(sw):
    headers = {**await sw.headers("counsellor"), "Content-Type": "application/json"}
    r = await sw.client.post("/v1/students/search", data=b"{q:", headers=headers)
    assert r.status == 400 and r.content_type == "application/problem+json"
    status, problem = await search(sw, "counsellor", ["roos"])
    assert status == 422 and problem["detail"] == "Verwacht een JSON-object."


async def test_a_name_in_the_url_of_the_list_is_refused(sw):
    r = await sw.client.get("/v1/students", params={"q": "roos"}, headers=await sw.headers("counsellor"))
    problem = await r.json()
    assert r.status == 422 and r.content_type == "application/problem+json"
    assert problem["code"] == "invalid-input" and "POST /v1/students/search" in problem["detail"]
    r = await sw.client.get("/v1/students", params={"q": "roos"})
    assert r.status == 401, "who asks is checked first"
    assert "hoort niet in een URL" in problem["detail"]
    # the list itself keeps working for the code that uses it
    r = await sw.client.get("/v1/students", params={"school_year": "4"}, headers=await sw.headers("counsellor"))
    assert r.status == 200 and (await r.json())["total"] == 6


async def test_the_search_follows_an_import(unique):
    async with world(f"search_imp_{unique}") as w:
        csv = CSV_HEADER + "".join(f"7{i:05d};Zoeker{i};;;Achter;01-01-2010;4z;4;;;\n" for i in range(30))
        status, job = await w.import_csv(csv.encode())
        assert status == 202 and job["state"] == "done"
        status, page = await search(w, "school_admin", {"q": "zoeker", "page": 2, "page_size": 20})
        assert status == 200 and page["total"] == 30 and len(page["students"]) == 10
        assert all(s["class_name"] == "4z" for s in page["students"])


# --- staff -----------------------------------------------------------------------------------------


async def staff_names(w: World, who: str, body: dict) -> list[str]:
    status, page = await search(w, who, body, "/v1/staff/search")
    assert status == 200, page
    return [s["name"] for s in page["staff"]]


async def test_staff_search_matches_name_and_address_and_filters_by_role(sw):
    school = ["Fatima El Idrissi", "Karin Jansen", "Peter de Vries", "Willem Bakker"]
    assert await staff_names(sw, "school_admin", {}) == sorted(school)
    assert await staff_names(sw, "school_admin", {"q": "JANSEN"}) == ["Karin Jansen"]
    assert await staff_names(sw, "school_admin", {"q": "decaan@"}) == ["Fatima El Idrissi"], "the address counts"
    assert await staff_names(sw, "school_admin", {"q": "voorbeeldcollege vries"}) == ["Peter de Vries"]
    assert await staff_names(sw, "school_admin", {"role": "mentor"}) == ["Karin Jansen", "Peter de Vries"]
    assert await staff_names(sw, "counsellor", {"q": "mulder"}) == [], "staff of another school are not found"
    assert "Sanne Mulder" in await staff_names(sw, "admin", {"q": "mulder"})
    status, page = await search(sw, "school_admin", {"page": 2, "page_size": 3}, "/v1/staff/search")
    assert status == 200 and (page["total"], page["page"], page["page_size"]) == (4, 2, 3)
    assert [s["name"] for s in page["staff"]] == sorted(school)[3:]
    [karin] = (await search(sw, "school_admin", {"q": "karin"}, "/v1/staff/search"))[1]["staff"]
    assert karin["classes"] == [{"class_id": str(await sw.class_id("4a")), "name": "4a"}]
    assert karin["role_label"] == "mentor" and karin["status"] == "actief"


async def test_staff_search_refuses_other_roles_and_bad_bodies(sw):
    for who in ("mentor_4a", "student", "mbo_staff"):
        status, _ = await search(sw, who, {}, "/v1/staff/search")
        assert status == 403, who
    for body, field in (({"role": "rector"}, "role"), ({"page_size": 201}, "page_size"), ({"q": "x" * 101}, "q"),
                        ({"page": "een"}, "page")):
        status, problem = await search(sw, "school_admin", body, "/v1/staff/search")
        assert status == 422 and problem["errors"][0]["field"] == field, problem
