"""The role matrix: every endpoint with every role (and without a login). Allowed roles get an
answer (not 401/403); the others 403 (or 404 where the thing exists but is not theirs)."""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Callable

import pytest

from services.identity.context import api
from services.identity.demo import demo_id
from tests.integration.identity.conftest import CSV_HEADER, LOGINS, MBO_UTRECHT_ID, VO_SCHOOL_ID, World, world

ROLES = ["anonymous", "student", "mentor_4a", "counsellor", "school_admin", "mbo_staff", "admin", "client"]
# "client": a machine client of MBO Utrecht (issue 12) with every scope; its token comes from POST /oauth/token
STAFF = {"mentor_4a", "counsellor", "school_admin", "mbo_staff", "admin"}
# the same roles at another VO school (made in the matrix world) and another MBO institution
OTHER = {"mentor_b": "mentor_4a", "counsellor_b": "counsellor", "school_admin_b": "school_admin",
         "mbo_staff_b": "mbo_staff"}
OTHER_PASSWORD = "een wachtwoord van school b"


@dataclass
class Case:
    method: str
    path: str  # with {ids}
    allowed: set[str]  # roles that may; "anonymous" for public endpoints
    json: Callable[[dict], dict] | None = None
    csv: str | None = None
    otherwise: dict[str, int] = field(default_factory=dict)  # role -> expected status when not 403


CASES = [
    Case("GET", "/v1/me", STAFF | {"student"}),
    Case("GET", "/v1/schools", STAFF),
    Case("POST", "/v1/schools", {"admin"}, json=lambda ids: {"kind": "vo", "name": f"School {uuid.uuid4().hex[:6]}"}),
    Case("GET", "/v1/schools/{vo}", {"admin", "school_admin", "counsellor", "mentor_4a"}, otherwise={"mbo_staff": 404}),
    Case("PATCH", "/v1/schools/{vo}", {"admin", "school_admin"}, json=lambda ids: {"parent_rule": "inspection"}),
    Case("POST", "/v1/schools/{mbo}/locations", {"admin"},
         json=lambda ids: {"name": f"Locatie {uuid.uuid4().hex[:6]}", "city": "Utrecht"}),
    Case("POST", "/v1/schools/{mbo}/programmes", {"admin"},
         json=lambda ids: {"name": "Opleiding", "crebo": f"{uuid.uuid4().int % 90000 + 10000}", "level": 2,
                           "pathway": "BOL"}),
    Case("PATCH", "/v1/programmes/{programme}", {"admin"}, json=lambda ids: {"active": True}),
    Case("GET", "/v1/institutions", {"anonymous"} | STAFF | {"student"}),
    Case("GET", "/v1/institutions/{mbo}", {"anonymous"} | STAFF | {"student"}),
    Case("GET", "/.well-known/jwks.json", {"anonymous"} | STAFF | {"student"}),
    Case("GET", "/v1/staff", {"admin", "school_admin", "counsellor"}),
    Case("POST", "/v1/staff", {"admin", "school_admin"}, json=lambda ids: {
        "role": "mentor", "name": "Nieuwe Mentor", "email": f"m{uuid.uuid4().hex[:8]}@voorbeeldcollege.example",
        "school_id": str(VO_SCHOOL_ID), "invite": False}),
    Case("GET", "/v1/staff/{mentor}", {"admin", "school_admin", "counsellor"}),
    Case("PATCH", "/v1/staff/{mentor}", {"admin", "school_admin"}, json=lambda ids: {"name": "Karin Jansen"}),
    Case("POST", "/v1/staff/{uninvited}/invitation", {"admin", "school_admin"}),
    Case("GET", "/v1/classes", {"mentor_4a", "counsellor", "school_admin"}),
    Case("PUT", "/v1/classes/{4a}/mentors", {"school_admin"}, json=lambda ids: {"staff_ids": [ids["mentor"]]}),
    Case("POST", "/v1/roster/imports", {"school_admin"},
         csv=CSV_HEADER + "100236;Sem;Sem Ali;;Yilmaz;23-11-2009;4a;4;;;k.jansen@voorbeeldcollege.example\n"),
    Case("GET", "/v1/roster/imports/{import}", {"school_admin"}),
    # the matrix's import is done: a confirmation or a drop answers 409 and changes nothing
    Case("POST", "/v1/roster/imports/{import}/confirm", {"school_admin"}, json=lambda ids: {"leavers": []}),
    Case("DELETE", "/v1/roster/imports/{import}", {"school_admin"}),
    Case("POST", "/v1/school-year/preview", {"school_admin"}, json=lambda ids: {"stay_behind": ["100234"]}),
    # a school year that is not the next one: 409, nothing changes
    Case("POST", "/v1/school-year", {"school_admin"}, json=lambda ids: {"school_year": "1999-2000"}),
    Case("GET", "/v1/students", {"mentor_4a", "counsellor", "school_admin"}),
    Case("POST", "/v1/students/search", {"mentor_4a", "counsellor", "school_admin"}, json=lambda ids: {"q": "roos"}),
    Case("POST", "/v1/staff/search", {"admin", "school_admin", "counsellor"}, json=lambda ids: {"q": "jansen"}),
    Case("GET", "/v1/me/data", {"student"}),
    Case("PUT", "/v1/me/preferences", {"mbo_staff"}, json=lambda ids: {"daily_digest": True}),
    Case("POST", "/v1/me/password", STAFF | {"student"},  # a wrong current password: 422, changes nothing
         json=lambda ids: {"current_password": "niet het wachtwoord", "new_password": "een lang nieuw wachtwoord"}),
    Case("GET", "/v1/students/{roos}", {"mentor_4a", "counsellor", "school_admin"}),
    Case("POST", "/v1/activation-codes", {"mentor_4a", "counsellor"},
         json=lambda ids: {"channel": "letter", "student_id": ids["sem"]}),
    Case("POST", "/v1/activation-codes/redeem", {"student"}, json=lambda ids: {"code": "ABCD-EFGH-JK"}),
    Case("POST", "/v1/registrations", {"anonymous"} | STAFF | {"student"},
         json=lambda ids: {"bsn": "123456794", "email": f"r{uuid.uuid4().hex[:8]}@example.nl"}),
    Case("POST", "/v1/password-resets", {"anonymous"} | STAFF | {"student"},
         json=lambda ids: {"email": "onbekend@example.nl"}),
    # machine clients (issue 12): the platform administrator only
    Case("POST", "/v1/clients", {"admin"}, json=lambda ids: {"institution_id": ids["mbo"], "name": "Matrix-koppeling",
                                                            "scopes": ["dossiers:read"]}),
    Case("GET", "/v1/clients", {"admin"}),
    Case("GET", "/v1/clients/{client}", {"admin"}),
    Case("POST", "/v1/clients/{client}/rotate", {"admin"}, json=lambda ids: {"keep_old_minutes": 1440}),
    Case("GET", "/v1/clients/{client}/log", {"admin"}),
    # the revocation of another client (not the one whose token the matrix uses)
    Case("POST", "/v1/clients/{spare_client}/revoke", {"admin"}),
]
for _case in CASES:  # a client may call what anyone may; nothing else
    if "anonymous" in _case.allowed:
        _case.allowed.add("client")


def test_every_operation_of_the_api_is_in_the_matrix():
    documented = {(op.method, op.path) for op in api.operations}
    in_matrix = {(c.method, c.path.replace("{vo}", "{school_id}").replace("{mbo}", "{school_id}")
                  .replace("{programme}", "{programme_id}").replace("{mentor}", "{staff_id}")
                  .replace("{uninvited}", "{staff_id}").replace("{4a}", "{class_id}")
                  .replace("{roos}", "{student_id}").replace("{import}", "{import_id}")
                  .replace("{spare_client}", "{client_id}").replace("{client}", "{client_id}")) for c in CASES}
    # these need a token from a mail or a session of their own; tested in test_accounts/test_login
    own_tests = {("POST", "/v1/registrations/confirm"), ("POST", "/v1/password-resets/confirm"),
                 ("POST", "/v1/invitations/accept"), ("POST", "/v1/sessions"), ("POST", "/v1/sessions/refresh"),
                 ("DELETE", "/v1/sessions/current"),
                 ("POST", "/oauth/token")}  # a form of its own: test_machine_clients
    assert documented - own_tests == in_matrix


@pytest.fixture(scope="module")
async def matrix_world():
    async with world(f"roles_{uuid.uuid4().hex[:10]}") as w:
        uninvited = await w.client.post("/v1/staff", json={
            "role": "mentor", "name": "Nog Niet Uitgenodigd", "email": "later@voorbeeldcollege.example", "invite": False},
            headers=await w.headers("school_admin"))
        w.ids = {
            "vo": str(VO_SCHOOL_ID), "mbo": str(MBO_UTRECHT_ID),
            "programme": str(await w.fetchval("SELECT id FROM programmes WHERE school_id = $1 LIMIT 1", MBO_UTRECHT_ID)),
            "mentor": str(demo_id("staff:k.jansen@voorbeeldcollege.example")),
            "uninvited": (await uninvited.json())["staff_id"],
            "4a": str(await w.class_id("4a")), "roos": str(await w.student_id("100234")),
            "sem": str(await w.student_id("100236"))}
        for role in LOGINS:
            await w.headers(role)
        w.ids["client"], w.tokens["client"] = await _client_token(w)
        w.ids["spare_client"], _ = await _client_token(w)
        await _other_school_and_institution(w)
        status, job = await w.import_csv(next(c.csv for c in CASES if c.csv).encode())
        assert status == 202 and job["state"] == "done", job
        w.ids["import"] = job["import_id"]
        yield w


@pytest.mark.parametrize("case, role", list(itertools.product(CASES, ROLES)),
                         ids=[f"{c.method} {c.path} as {r}" for c, r in itertools.product(CASES, ROLES)])
async def test_role_matrix(matrix_world: World, case: Case, role: str):
    w = matrix_world
    headers = {} if role == "anonymous" else await w.headers(role)
    kwargs: dict = {"headers": headers}
    if case.json:
        kwargs["json"] = case.json(w.ids)
    if case.csv:
        kwargs["data"] = case.csv.encode()
        headers["Content-Type"] = "text/csv"
    r = await w.client.request(case.method, case.path.format(**w.ids), **kwargs)
    text = await r.text()
    if role in case.allowed:
        assert r.status not in (401, 403) and r.status < 500, text
    elif role == "anonymous":
        assert r.status == 401, text
    else:
        assert r.status == case.otherwise.get(role, 403), text
        assert r.content_type == "application/problem+json"


async def _client_token(w: World) -> tuple[str, str]:
    """A machine client of MBO Utrecht, registered by the administrator, and a token of it."""
    r = await w.client.post("/v1/clients", json={"institution_id": str(MBO_UTRECHT_ID), "name": "Eduarte",
                                                 "scopes": ["dossiers:read", "dossiers:handle"]},
                            headers=await w.headers("admin"))
    assert r.status == 201, await r.text()
    client = await r.json()
    r = await w.client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client["client_id"],
                                                  "client_secret": client["client_secret"]})
    assert r.status == 200, await r.text()
    return client["client_id"], (await r.json())["access_token"]


async def _other_school_and_institution(w: World) -> None:
    """Staff of a second VO school and of another MBO institution, invited and logged in as
    anyone would be; their tokens go into ``w.tokens`` under the OTHER names."""
    from tests.integration.identity.test_accounts import token_of
    admin = await w.headers("admin")
    school_b = (await (await w.client.post("/v1/schools", json={"kind": "vo", "name": "Het Andere College"},
                                           headers=admin)).json())["school_id"]
    roc = str(demo_id("school:ROC van Twente"))
    for who, role, school in (("mentor_b", "mentor", school_b), ("counsellor_b", "counsellor", school_b),
                              ("school_admin_b", "school_admin", school_b), ("mbo_staff_b", "mbo_staff", roc)):
        email = f"{who}@elders.example"
        r = await w.client.post("/v1/staff", json={"role": role, "name": f"Elders {who}", "email": email,
                                                   "school_id": school, "invite": True}, headers=admin)
        assert r.status == 201, await r.text()
        invite = [e for e in await w.events("identity.staff_invited") if e["email"] == email][-1]
        r = await w.client.post("/v1/invitations/accept", json={"token": token_of(invite["accept_url"]),
                                                                 "password": OTHER_PASSWORD})
        assert r.status == 200, await r.text()
        w.tokens[who] = (await w.login(email, OTHER_PASSWORD))["access_token"]


A_NAMES = ("Roos de Winter", "Mirjam Hoenderloo", "Karin Jansen", "100234")  # students, a mentor, a student number
OTHER_CASES = [(c, o) for c in CASES for o, base in OTHER.items() if base in c.allowed and "anonymous" not in c.allowed]


@pytest.mark.parametrize("case, role", OTHER_CASES, ids=[f"{c.method} {c.path} as {r}" for c, r in OTHER_CASES])
async def test_staff_of_another_school_or_institution_get_nothing_of_this_one(matrix_world: World, case: Case,
                                                                             role: str):
    """What school A's staff may do, the same role at school B (or MBO staff of another institution)
    may ask too, but never reaches A's things: a resource of A is 403 or 404 (or 422 for input
    that names A's things), a list holds nothing of A."""
    w = matrix_world
    headers = {"Authorization": f"Bearer {w.tokens[role]}"}
    kwargs: dict = {"headers": headers}
    if case.json:
        kwargs["json"] = case.json(w.ids)
    if case.csv:
        kwargs["data"] = case.csv.encode()
        headers["Content-Type"] = "text/csv"
    url = case.path.format(**w.ids)
    r = await w.client.request(case.method, url, **kwargs)
    text = await r.text()
    assert r.status < 500, text
    names_a_thing = any(f"{{{k}}}" in case.path for k in ("vo", "mentor", "uninvited", "4a", "roos", "import"))
    if names_a_thing:
        assert r.status in (403, 404), f"{role} reached school A's {url}: {r.status} {text}"
    sent = url + str(kwargs.get("json", "")) + (case.csv or "")
    a_ids = [w.ids[k] for k in ("vo", "mentor", "uninvited", "4a", "roos", "sem", "import")]
    leaked = [s for s in (*A_NAMES, *a_ids) if s in text and s not in sent]  # not what the caller sent
    assert not leaked, f"{role} got school A's data from {case.method} {url}: {leaked}"


async def test_least_privilege_on_the_roster(matrix_world: World):
    w = matrix_world

    async def names(who: str, path: str = "/v1/students") -> list[str]:
        r = await w.client.get(path, headers=await w.headers(who))
        assert r.status == 200
        return sorted(s["name"] for s in (await r.json())["students"])

    assert await names("mentor_4a") == ["Mirjam Hoenderloo", "Roos de Winter", "Sem Yilmaz"]
    assert await names("mentor_4b") == ["Daan Smit", "Jaap Rierink", "Noor van Dijk"]
    assert len(await names("counsellor")) == len(await names("school_admin")) == 6
    roos = w.ids["roos"]
    r = await w.client.get(f"/v1/students/{roos}", headers=await w.headers("mentor_4b"))
    assert r.status == 404, "another mentor's student does not exist for them"
    r = await w.client.get(f"/v1/students?class_id={w.ids['4a']}", headers=await w.headers("mentor_4b"))
    assert (await r.json())["students"] == []
    r = await w.client.get("/v1/classes", headers=await w.headers("mentor_4b"))
    assert [c["name"] for c in (await r.json())["classes"]] == ["4b"]
    # a student sees only themselves
    me = await (await w.client.get("/v1/me", headers=await w.headers("student"))).json()
    assert me["student"]["name"] == "Roos de Winter"
    # a school admin can't make admins, nor staff of another school
    r = await w.client.post("/v1/staff", json={"role": "school_admin", "name": "Te Veel", "email": "x@example.nl"},
                            headers=await w.headers("school_admin"))
    assert r.status == 403
    r = await w.client.post("/v1/staff", json={"role": "mentor", "name": "Elders", "email": "y@example.nl",
                                               "school_id": str(MBO_UTRECHT_ID)}, headers=await w.headers("school_admin"))
    assert r.status == 403
    mbo_staff = str(demo_id("staff:s.mulder@mboutrecht.example"))
    r = await w.client.get(f"/v1/staff/{mbo_staff}", headers=await w.headers("school_admin"))
    assert r.status == 404
