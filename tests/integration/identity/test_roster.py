"""Roster import: all or nothing, errors per line, re-import updates, classes and mentors, bulk
(the import job itself, its progress and its resumption: test_roster_jobs.py)."""
from __future__ import annotations

from tests.integration.identity.conftest import CSV_HEADER, world

MENTOR_4A = "k.jansen@voorbeeldcollege.example"


async def post_csv(w, data: bytes, who: str = "school_admin", content_type: str = "text/csv"):
    """(status, problem) for a refused file; (202, the finished job) for a valid one."""
    return await w.import_csv(data, who, content_type)


def row(number, roepnaam="Test", achternaam="Leerling", klas="4c", jaar=4, email="", bsn="", mentor="",
        dob="01-01-2010", tussenvoegsel="", voornamen="") -> str:
    return f"{number};{roepnaam};{voornamen};{tussenvoegsel};{achternaam};{dob};{klas};{jaar};{email};{bsn};{mentor}\n"


async def test_a_file_with_errors_imports_nothing_and_lists_every_error(w):
    students, events = await w.fetchval("SELECT count(*) FROM students"), await w.fetchval("SELECT count(*) FROM outbox")
    csv = CSV_HEADER + row("300001", email="goed@example.nl") + row("300002", dob="31-02-2010") \
        + row("300003", bsn="123456789", email="geen-adres") + row("300001", roepnaam="Dubbel") + row("", jaar=9)
    status, problem = await post_csv(w, csv.encode())
    assert status == 422 and problem["code"] == "roster-invalid" and "niets veranderd" in problem["detail"]
    errors = {(e["line"], e["field"]) for e in problem["errors"]}
    assert errors == {(3, "Geboortedatum"), (4, "E-mail"), (4, "BSN"), (5, "Leerlingnummer"), (6, "Leerlingnummer"),
                      (6, "Leerjaar")}
    assert all(e["message"] for e in problem["errors"])
    assert any("elfproef" in e["message"] for e in problem["errors"])
    assert (await w.fetchval("SELECT count(*) FROM students"), await w.fetchval("SELECT count(*) FROM outbox")) == \
        (students, events)


async def test_unreadable_files_wrong_type_and_too_big_are_refused(unique):
    async with world(f"roster_lim_{unique}", roster_max_bytes=2048) as w:
        assert (await post_csv(w, b""))[0] == 422
        status, problem = await post_csv(w, b"%PDF-1.4\x00\x00binary")
        assert status == 422 and problem["errors"][0]["field"] == "bestand"
        assert (await post_csv(w, (CSV_HEADER + row("1")).encode(), content_type="application/json"))[0] == 415
        status, problem = await post_csv(w, (CSV_HEADER + row("1") * 100).encode())
        assert status == 413 and "te groot" in problem["detail"]
        dup_bsn = CSV_HEADER + row("1", bsn="123456782") + row("2", bsn="123456782")
        status, problem = await post_csv(w, dup_bsn.encode())
        assert status == 422 and problem["errors"] == [
            {"line": 3, "field": "BSN", "message": "Dit BSN staat ook op regel 2."}]


async def test_reimport_updates_by_student_number_and_never_duplicates(w):
    csv = CSV_HEADER + row("300001", "Zoë", "Ŝmit", email="zoe@example.nl", mentor=MENTOR_4A) \
        + row("300002", "Ali", "Bakker", klas="4d", mentor="nieuwe.mentor@voorbeeldcollege.example")
    # as Excel saves it in Windows: cp1252, semicolons, CRLF ("Ŝ" does not exist there: use plain text)
    cp1252 = csv.replace("Ŝmit", "Smit").replace("\n", "\r\n").encode("cp1252")
    status, first = await post_csv(w, cp1252)
    assert status == 202 and first["state"] == "done", first
    assert (first["created"], first["updated"], first["unchanged"]) == (2, 0, 0)
    assert first["classes_created"] == ["4c", "4d"] and first["not_in_file"] == 6
    assert [m["email"] for m in first["new_mentors"]] == ["nieuwe.mentor@voorbeeldcollege.example"]
    assert await w.fetchval("SELECT roepnaam FROM students WHERE student_number = '300001'") == "Zoë"
    changed_before = len(await w.events("identity.student_changed"))

    # the same file again (now UTF-8 with BOM, commas): nothing changes, no events
    again = ("\ufeff" + csv.replace("Ŝmit", "Smit").replace(";", ",")).encode("utf-8")
    status, second = await post_csv(w, again)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 2) and second["new_mentors"] == []
    assert len(await w.events("identity.student_changed")) == changed_before

    # a change of class and address: an update of the same record
    status, third = await post_csv(w, (CSV_HEADER + row("300001", "Zoë", "Smit", klas="4d", email="zoe2@example.nl")
                                       ).encode())
    assert (third["created"], third["updated"]) == (0, 1)
    assert await w.fetchval("SELECT count(*) FROM students WHERE student_number = '300001'") == 1
    last = (await w.events("identity.student_changed"))[-1]
    assert last["class_name"] == "4d" and last["email"] == "zoe2@example.nl" and "bsn" not in last


async def test_mentors_of_a_class_come_from_the_file(w):
    csv = CSV_HEADER + row("300001", klas="4c", mentor=f"{MENTOR_4A}|Nieuw@Voorbeeldcollege.example") \
        + row("300002", klas="4c", mentor=MENTOR_4A)
    status, result = await post_csv(w, csv.encode())
    assert result["classes_with_changed_mentors"] == ["4c"]
    [new] = result["new_mentors"]
    assert new["email"] == "nieuw@voorbeeldcollege.example"
    r = await w.client.get("/v1/classes", headers=await w.headers("school_admin"))
    [c4c] = [c for c in (await r.json())["classes"] if c["name"] == "4c"]
    assert sorted(m["email"] for m in c4c["mentors"]) == [MENTOR_4A, "nieuw@voorbeeldcollege.example"]
    [event] = [e for e in await w.events("identity.class_mentors_changed") if e["class_name"] == "4c"]
    assert len(event["mentors"]) == 2 and event["school_year"] == 4
    assert await w.events("identity.staff_invited") == [], "a mentor made from a file is not invited by itself"
    # the school admin invites the new mentor
    r = await w.client.post(f"/v1/staff/{new['staff_id']}/invitation", headers=await w.headers("school_admin"))
    assert r.status == 202
    [invite] = await w.events("identity.staff_invited")
    assert invite["email"] == "nieuw@voorbeeldcollege.example"
    # Karin Jansen now also sees class 4c
    r = await w.client.get("/v1/classes", headers=await w.headers("mentor_4a"))
    assert sorted(c["name"] for c in (await r.json())["classes"]) == ["4a", "4c"]


async def test_a_file_naming_a_school_admin_as_mentor_is_refused(w):
    csv = CSV_HEADER + row("300001", mentor="w.bakker@voorbeeldcollege.example")
    status, problem = await post_csv(w, csv.encode())
    assert status == 422 and problem["errors"] == [{"line": 2, "field": "Mentor",
                                                    "message": "w.bakker@voorbeeldcollege.example is geen mentor of decaan."}]
    assert await w.fetchval("SELECT count(*) FROM students WHERE student_number = '300001'") == 0


async def test_a_school_year_of_2000_students_imports_in_chunks(w):
    lines = [row(f"9{i:05d}", f"Leerling{i}", "Achternaam", klas=f"4{'abcdefgh'[i % 8]}", email=f"l{i}@example.nl",
                 mentor=MENTOR_4A if i % 8 == 0 else "") for i in range(2000)]
    before = len(await w.events("identity.student_changed"))
    status, result = await post_csv(w, (CSV_HEADER + "".join(lines)).encode())
    assert status == 202 and result["state"] == "done", result
    assert result["rows_done"] == result["rows_total"] == 2000
    assert result["created"] == 2000 and result["updated"] == 0
    assert len(await w.events("identity.student_changed")) == before + 2000
    status, again = await post_csv(w, (CSV_HEADER + "".join(lines)).encode())
    assert again["unchanged"] == 2000 and again["created"] == 0
    assert await w.fetchval("SELECT count(*) FROM students") == 2006
