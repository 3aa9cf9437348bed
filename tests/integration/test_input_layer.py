"""The shared input layer (shared/api.py, shared/text.py) in every service: what schemathesis does
not generate, sent on purpose. A NUL or another control character in a string that would reach
PostgreSQL, a lone surrogate, JSON ``null`` in a field that may only be left out, an integer beyond
int32 in a query, JSON nested 50,000 levels deep, a number that is no integer: each is a 4xx
problem with a Dutch message that names the field (or a Dutch page, in the portal), never a 500,
and nothing changes. PostgreSQL's errors are logged by sqlstate and constraint, never with the
row's values."""
from __future__ import annotations

import json
import logging
import re
import uuid
from contextlib import AsyncExitStack

import asyncpg
import pytest

from services.document.app import make_app as make_document
from services.identity.app import api as identity_api
from services.identity.demo import demo_id
from services.notification.app import make_app as make_notification
from services.portal.app import make_app as make_portal
from services.portal.settings import PortalSettings
from shared.api import MAX_JSON_DEPTH
from shared.app import API, DB, SETTINGS
from shared.logs import JsonFormatter
from shared.problems import NULL_MESSAGE
from shared.text import MULTI_LINE_MESSAGE, SINGLE_LINE_MESSAGE, SURROGATE_MESSAGE
from tests.integration.dossier.world import World, beside, open_world
from tests.integration.identity.conftest import MBO_UTRECHT_ID, world as identity_world
from tests.integration.portal.support import serve_portal
from tests.support.apps import serve, settings as app_settings

DEEP = 50_000


def deep_json(levels: int) -> bytes:
    return b'{"a": ' * levels + b"1" + b"}" * levels


def field_error(problem: dict, field: str, message: str | None = None) -> bool:
    return any(e.get("field") == field and (message is None or e["message"] == message)
               for e in problem.get("errors", []))


@pytest.fixture(scope="module")
async def world():
    async with AsyncExitStack() as stack:
        yield await open_world(stack, "input")


@pytest.fixture(scope="module")
async def others(world: World):
    """Document and notification beside the module's dossier service."""
    async with beside(world, "input") as n:
        yield {"document": n.document_client, "notification": n.notification_client}


async def snapshot(world: World, dossier_id) -> tuple:
    async with world.db.acquire() as conn:
        row = await conn.fetchrow("SELECT version, agreement_remark, parent_remark FROM dossiers WHERE id = $1",
                                  uuid.UUID(str(dossier_id)))
        sections = await conn.fetch("SELECT section_id, answers, version FROM dossier_sections WHERE dossier_id = $1 "
                                    "ORDER BY section_id", uuid.UUID(str(dossier_id)))
    return tuple(row), [tuple(s) for s in sections]


# --------------------------------------------------------------------------- NUL and control characters


async def test_a_section_answer_with_a_nul_or_control_character_is_refused_and_changes_nothing(world: World):
    school, mbo = await world.school(), await world.mbo()
    student = await world.student(school)
    dossier = await world.create(student, mbo)
    before = await snapshot(world, dossier["id"])
    for answers, field, message in (
            ({"leisure": "Hockey\x00"}, "answers.leisure", MULTI_LINE_MESSAGE),
            ({"leisure": "Hockey\x1b[31m"}, "answers.leisure", MULTI_LINE_MESSAGE),
            ({"leisure": "Hockey\ud800"}, "answers.leisure", SURROGATE_MESSAGE),
            ({"leisure\x00": "Hockey"}, None, SINGLE_LINE_MESSAGE)):
        status, problem = await world.call("PUT", f"/v1/dossiers/{dossier['id']}/part-a/family_living_leisure",
                                           world.as_student(student), json={"answers": answers}, version=0)
        assert status == 422, problem
        assert any(e["message"] == message and (field is None or e["field"] == field)
                   for e in problem["errors"]), problem
        assert await snapshot(world, dossier["id"]) == before
    # a text that spans lines keeps its line breaks and tabs
    status, saved = await world.call("PUT", f"/v1/dossiers/{dossier['id']}/part-a/motivation",
                                     world.as_student(student), version=0,
                                     json={"answers": {"motivation": "Ik wil\njuridisch\twerken.",
                                                       "expectations": "Veel"}})
    assert status == 200 and saved["answers"]["motivation"] == "Ik wil\njuridisch\twerken.", saved


async def test_a_remark_with_a_nul_or_a_lone_surrogate_is_refused_and_changes_nothing(world: World):
    school, mbo = await world.school(), await world.mbo()
    student = await world.student(school)
    dossier = await world.to_agreement(student, mbo)
    before = await snapshot(world, dossier["id"])
    for remark, message in (("Goed\x00", MULTI_LINE_MESSAGE), ("Goed\ud83d", SURROGATE_MESSAGE)):
        status, problem = await world.call("PUT", f"/v1/dossiers/{dossier['id']}/agreement", world.as_student(student),
                                           json={"remark": remark}, version=dossier["version"])
        assert status == 422 and field_error(problem, "remark", message), problem
    assert await snapshot(world, dossier["id"]) == before
    status, view = await world.call("PUT", f"/v1/dossiers/{dossier['id']}/agreement", world.as_student(student),
                                    json={"remark": "Eens.\nMet een tweede regel."}, version=dossier["version"])
    assert status == 200 and view["agreement"]["remark"] == "Eens.\nMet een tweede regel."


@pytest.mark.parametrize("path, who", [("/v1/overviews/students/search", "mentor"),
                                       ("/v1/overviews/worklist/search", "mentor"),
                                       ("/v1/mbo/dossiers/search", "mbo")])
async def test_a_search_for_a_name_with_a_nul_is_refused(world: World, path, who):
    school, mbo = await world.school(), await world.mbo()
    headers = world.as_mbo(mbo) if who == "mbo" else world.as_mentor(school.classes[0].mentors[0])
    for q in ("Roos\x00", "Roos\nde Winter"):
        status, problem = await world.call("POST", path, headers, json={"q": q})
        assert status == 422 and field_error(problem, "q", SINGLE_LINE_MESSAGE), problem


async def test_a_nul_in_a_field_the_model_does_not_know_is_refused_before_anything_else(world: World):
    school, mbo = await world.school(), await world.mbo()
    student = await world.student(school)
    status, problem = await world.call("POST", "/v1/dossiers", world.as_student(student),
                                       json={"choice": {**mbo.choice(), "crebo": "25655\x00"}})
    assert status == 422 and field_error(problem, "choice.crebo", MULTI_LINE_MESSAGE), problem
    status, problem = await world.call("POST", "/v1/overviews/students/search",
                                       world.as_mentor(school.classes[0].mentors[0]), json={"onbekend\x00": 1})
    assert status == 422, problem


async def test_query_parameters_with_control_characters_are_refused_in_every_service(world: World, others):
    school = await world.school()
    mentor = world.as_mentor(school.classes[0].mentors[0])
    for client, path, headers, name in (
            (world.client, "/v1/overviews/students", mentor, "class_id"),
            (world.client, "/v1/dossiers/" + str(uuid.uuid4()), world.as_counsellor(school), "purpose"),
            (world.client, "/v1/parent/dossier", {}, "token"),
            (others["document"], "/v1/print-jobs", mentor, "batch_id"),
            (others["document"], f"/v1/dossiers/{uuid.uuid4()}/pdf", mentor, "part"),
            (others["notification"], "/v1/deliveries/failed", world.issuer.headers("admin"), "limit")):
        r = await client.get(path, params={name: "a\x00b"}, headers=headers)
        problem = await r.json()
        assert r.status == 422 and field_error(problem, name, SINGLE_LINE_MESSAGE), (path, problem)


# --------------------------------------------------------------------------- integers


async def test_an_integer_in_a_query_is_digits_within_its_bounds(world: World, others):
    school, mbo = await world.school(), await world.mbo()
    for client_name, path, query, field in (
            ("dossier", "/v1/overviews/students", {"page_size": "1_0"}, "page_size"),
            ("dossier", "/v1/overviews/worklist", {"page": " 2"}, "page"),
            ("dossier", "/v1/overviews/students", {"leerjaar": "99999999999"}, "leerjaar"),
            ("dossier", "/v1/overviews/students", {"page": "1.0"}, "page"),
            ("dossier", "/v1/overviews/worklist", {"page_size": "101"}, "page_size"),
            ("dossier", "/v1/mbo/dossiers", {"page": "99999999999999999999"}, "page"),
            ("notification", "/v1/deliveries/failed", {"limit": "99999999999"}, "limit"),
            ("notification", "/v1/deliveries/failed", {"limit": "5.0"}, "limit")):
        headers = {"/v1/mbo/dossiers": world.as_mbo(mbo), "/v1/deliveries/failed": world.issuer.headers("admin")}.get(
            path, world.as_mentor(school.classes[0].mentors[0]))
        client = world.client if client_name == "dossier" else others[client_name]
        r = await client.get(path, params=query, headers=headers)
        problem = await r.json()
        assert r.status == 422 and field_error(problem, field), (path, query, problem)


async def test_integers_and_booleans_in_a_search_body_are_strict(world: World):
    school = await world.school()
    for body, field in (({"page": "2"}, "page"), ({"page": 2.0}, "page"), ({"page_size": True}, "page_size"),
                        ({"leerjaar": 4.0}, "leerjaar"), ({"overdue": "true"}, "overdue"),
                        ({"leerjaar": 99999999999}, "leerjaar")):
        status, problem = await world.call("POST", "/v1/overviews/students/search",
                                           world.as_mentor(school.classes[0].mentors[0]), json=body)
        assert status == 422 and field_error(problem, field), (body, problem)


async def test_an_integer_beyond_int32_in_identitys_query_is_a_422(unique):
    async with identity_world(f"input_id_{unique}") as w:
        counsellor = await w.headers("counsellor")
        for value in ("99999999999", "4.0", "-1"):
            r = await w.client.get("/v1/students", params={"school_year": value}, headers=counsellor)
            problem = await r.json()
            assert r.status == 422 and field_error(problem, "school_year"), problem
        r = await w.client.get("/v1/students", params={"school_year": "4"}, headers=counsellor)
        assert r.status == 200
        r = await w.client.get("/v1/schools", params={"page": "99999999999"}, headers=await w.headers("admin"))
        assert r.status == 422 and field_error(await r.json(), "page")


# --------------------------------------------------------------------------- null


async def test_null_in_a_field_that_may_only_be_left_out_is_refused_and_changes_nothing(unique):
    async with identity_world(f"input_null_{unique}") as w:
        admin = await w.headers("admin")
        programme_id = await w.fetchval("SELECT id FROM programmes WHERE school_id = $1 LIMIT 1", MBO_UTRECHT_ID)
        before = await w.fetchval("SELECT (name, level, pathway, active) FROM programmes WHERE id = $1", programme_id)
        for name in ("name", "level", "pathway", "active"):
            r = await w.client.patch(f"/v1/programmes/{programme_id}", json={name: None}, headers=admin)
            problem = await r.json()
            assert r.status == 422 and field_error(problem, name, NULL_MESSAGE), problem
        assert await w.fetchval("SELECT (name, level, pathway, active) FROM programmes WHERE id = $1",
                                programme_id) == before
        karin = demo_id("staff:k.jansen@voorbeeldcollege.example")
        for body in ({"name": None}, {"active": None}):
            r = await w.client.patch(f"/v1/staff/{karin}", json=body, headers=admin)
            assert r.status == 422 and field_error(await r.json(), next(iter(body)), NULL_MESSAGE)
        r = await w.client.patch(f"/v1/schools/{MBO_UTRECHT_ID}", json={"name": None}, headers=admin)
        assert r.status == 422 and field_error(await r.json(), "name", NULL_MESSAGE)
        # where null means something, it is still allowed: no location, no city
        r = await w.client.patch(f"/v1/programmes/{programme_id}", json={"location_id": None}, headers=admin)
        assert r.status == 200, await r.text()
        r = await w.client.patch(f"/v1/schools/{MBO_UTRECHT_ID}", json={"city": None}, headers=admin)
        assert r.status == 200 and (await r.json())["city"] is None
        r = await w.client.post("/v1/activation-codes", json={"channel": "letter", "school_year": None,
                                                              "class_id": None, "student_id": None},
                                headers=await w.headers("counsellor"))
        assert r.status == 422 and field_error(await r.json(), "school_year", NULL_MESSAGE)


async def test_null_in_a_dossier_body_is_refused_where_the_field_does_not_allow_it(world: World):
    school = await world.school()
    mentor = world.as_mentor(school.classes[0].mentors[0])
    for body, field in (({"q": None}, "q"), ({"page": None}, "page"), ({"overdue": None}, "overdue")):
        status, problem = await world.call("POST", "/v1/overviews/students/search", mentor, json=body)
        assert status == 422 and field_error(problem, field, NULL_MESSAGE), problem
    status, _ = await world.call("POST", "/v1/overviews/students/search", mentor,
                                 json={"class_id": None, "page_size": None})
    assert status == 200  # these may be null: no class filter, the default page size


# --------------------------------------------------------------------------- nesting


def _json_operations() -> list[tuple[str, str, str]]:
    """(service, method, path) of every operation that reads a JSON body, in every service."""
    from services.document.app import make_app as document
    from services.dossier.app import make_app as dossier
    found = []
    for name, app in (("dossier", dossier()), ("document", document()), ("notification", make_notification()),
                      ("identity", None)):
        operations = identity_api.operations if app is None else app[API].operations
        found += [(name, op.method, op.path) for op in operations
                  if op.body is not None and op.consumes in (None, "application/json")]
    return found


async def test_json_nested_50000_levels_deep_is_a_400_at_every_endpoint_that_reads_json(world: World, unique):
    operations = _json_operations()
    assert {s for s, _, _ in operations} == {"dossier", "identity"}, "the services with JSON bodies"
    school, mbo = await world.school(), await world.mbo()
    callers = {"dossier": [world.as_student(await world.student(school)), world.as_counsellor(school),
                           world.as_mbo(mbo), {}]}
    async with identity_world(f"input_deep_{unique}") as w:
        clients = {"dossier": world.client, "identity": w.client}
        callers["identity"] = [await w.headers(who) for who in ("admin", "school_admin", "counsellor", "mbo_staff", "student")]
        callers["identity"].append({})
        for service, method, path in operations:
            url = re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()) if m.group(0).endswith("_id}") else "x", path)
            refused = set()
            for headers in callers[service]:
                for body in (deep_json(DEEP), b"[" * DEEP + b"]" * DEEP, deep_json(MAX_JSON_DEPTH + 1)):
                    r = await clients[service].request(method, url, data=body, headers={
                        **headers, "Content-Type": "application/json", "If-Match": '"1"'})
                    text = await r.text()
                    assert r.status < 500, (method, path, r.status, text)
                    if r.status == 400:  # else refused before the body was read (a role that may not call it)
                        assert json.loads(text)["code"] == "json-too-deep", text
                        refused.add(body[:2])
            assert refused == {b'{"', b"[["}, f"{method} {path}: read by no caller"


async def test_json_up_to_the_nesting_limit_is_read(world: World):
    school = await world.school()
    mentor = world.as_mentor(school.classes[0].mentors[0])
    nested = {"q": "Roos"}
    for _ in range(MAX_JSON_DEPTH - 1):
        nested = {"q": nested}
    r = await world.client.post("/v1/overviews/students/search", json=nested, headers=mentor)
    assert r.status == 422 and field_error(await r.json(), "q")  # read, then refused as no text
    r = await world.client.post("/v1/overviews/students/search", json={"q": nested}, headers=mentor)
    assert r.status == 400 and (await r.json())["code"] == "json-too-deep"


async def test_json_that_is_not_json_in_utf8_is_a_400(world: World):
    school = await world.school()
    for raw in (b'{"q": NaN}', b'{"q": Infinity}', b'{"q": "\xff"}', b'\xef\xbb\xbf{"q": ""}'):
        r = await world.client.post("/v1/overviews/students/search", data=raw,
                                    headers={**world.as_mentor(school.classes[0].mentors[0]),
                                             "Content-Type": "application/json"})
        assert r.status == 400 and (await r.json())["code"] == "invalid-json", raw


# --------------------------------------------------------------------------- logs


async def test_postgresql_errors_are_logged_by_sqlstate_and_constraint_without_the_rows_values(world: World, caplog):
    """Whatever still reaches PostgreSQL wrongly: the log names the constraint, not the row."""
    async with world.db.acquire() as conn:
        await conn.execute("CREATE TEMP TABLE people (id int PRIMARY KEY, name text NOT NULL, CONSTRAINT "
                           "short_name CHECK (length(name) < 20))")
        for sql in ("INSERT INTO people VALUES (1, NULL)", "INSERT INTO people VALUES (2, 'Geheime Naam Roos de "
                                                            "Winter')"):
            try:
                await conn.execute(sql)
            except asyncpg.PostgresError as exc:
                try:
                    raise RuntimeError("while saving") from exc
                except RuntimeError:
                    logging.getLogger("test").exception("unhandled error")
        try:
            await conn.execute("INSERT INTO people VALUES ($1, 'x')", 99_999_999_999)
        except Exception:  # noqa: BLE001 - asyncpg refuses the argument before sending it
            logging.getLogger("test").exception("unhandled error")
        await conn.execute("DROP TABLE people")
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "test"]
    assert len(lines) == 3
    text = "\n".join(lines)
    assert "sqlstate=23502" in text and "column=name" in text
    assert "sqlstate=23514" in text and "constraint=short_name" in text
    assert "Failing row" not in text and "Roos" not in text and "99999999999" not in text, text


async def test_an_unexpected_error_in_a_request_is_logged_by_sqlstate(world: World, caplog):
    """The problem middleware's log of a 500 carries the sqlstate and constraint as fields."""
    from aiohttp import web

    from shared.app import problem_middleware

    async def failing(request):
        async with request.app[DB].acquire() as conn:
            await conn.execute("CREATE TEMP TABLE IF NOT EXISTS t_input (name text NOT NULL)")
            await conn.execute("INSERT INTO t_input VALUES (NULL)")

    app = web.Application(middlewares=[problem_middleware])
    app[DB] = world.db
    app.router.add_post("/fail", failing)
    async with serve(app) as client:
        r = await client.post("/fail")
        assert r.status == 500 and (await r.json())["detail"].startswith("Er ging iets mis")
    [record] = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert record.fields["sqlstate"] == "23502" and record.fields["table"] == "t_input"
    assert "Failing row" not in JsonFormatter().format(record)


# --------------------------------------------------------------------------- the portal


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def test_the_portal_refuses_form_fields_and_query_parameters_with_control_characters(unique):
    settings = app_settings(PortalSettings, f"input_portal_{unique}", identity_url="http://127.0.0.1:9",
                            dossier_url="http://127.0.0.1:9", document_url="http://127.0.0.1:9",
                            auth_jwks_url="http://127.0.0.1:9/.well-known/jwks.json")
    async with serve_portal(make_portal(settings)) as portal:
        token = _csrf(await (await portal.get("/inloggen")).text())
        for form in ({"email": "roos\x00@example.nl", "password": "x" * 12},
                     {"email": "roos@example.nl", "password": "geheim\x07wachtwoord"}):
            r = await portal.post("/inloggen", data={**form, "csrf_token": token})
            html = await r.text()
            assert r.status == 422 and "Controleer de invoer" in html and "stuurteken" in html, html
            field = next(k for k, v in form.items() if any(ord(c) < 32 for c in v))
            assert f"het veld ‘{field}’" in html
        r = await portal.get("/account/wachtwoord-vergeten", params={"email": "a\nb"})
        assert r.status == 422 and "adres van deze pagina" in await r.text()
        r = await portal.get("/inloggen%00")
        assert r.status == 404
        r = await portal.post("/inloggen", data={"email": "roos@example.nl", "password": "x" * 12,
                                                 "csrf_token": token})
        assert r.status == 503, "text without control characters goes on (to identity, which is away here)"


# --------------------------------------------------------------------------- the documents


def _request_schemas(doc: dict):
    """Every schema a client sends: query, path and header parameters and JSON bodies, resolved."""
    components = doc["components"]["schemas"]

    def walk(schema, where):
        stack = [(schema, where)]
        while stack:
            node, at = stack.pop()
            if isinstance(node, dict):
                if "$ref" in node:
                    stack.append((components[node["$ref"].rsplit("/", 1)[1]], at))
                    continue
                yield node, at
                for key, value in node.items():
                    if key in ("properties", "$defs"):
                        stack.extend((v, f"{at}.{k}") for k, v in value.items())
                    elif isinstance(value, (dict, list)):
                        stack.append((value, at))
            elif isinstance(node, list):
                stack.extend((item, at) for item in node)

    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            for param in op.get("parameters", []):
                yield from walk(param["schema"], f"{method.upper()} {path} {param['in']} {param['name']}")
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                yield from walk(content["schema"], f"{method.upper()} {path} body ({media})")


def _documents() -> dict[str, dict]:
    from services.dossier.app import make_app as dossier
    from services.identity.app import make_app as identity
    apps = {"dossier": dossier(), "identity": identity(), "document": make_document(),
            "notification": make_notification(), "portal": make_portal()}
    return {name: app[API].document(app[SETTINGS]) for name, app in apps.items()}


def test_every_integer_and_string_a_client_sends_is_bounded_in_the_documents():
    for service, doc in _documents().items():
        for schema, where in _request_schemas(doc):
            kind = schema.get("type")
            if kind == "integer":
                assert -2**31 <= schema.get("minimum", -2**63) and schema.get("maximum", 2**63) < 2**31, \
                    f"{service}: {where} is an integer without bounds within int32"
            if kind == "string" and not {"enum", "format", "const"} & set(schema) and "text/csv" not in where:
                assert "maxLength" in schema or "pattern" in schema, f"{service}: {where}: a string without a limit"
            if kind == "string" and "pattern" not in schema and not {"enum", "format", "const"} & set(schema) \
                    and " path " not in where and " header " not in where and "text/csv" not in where:
                raise AssertionError(f"{service}: {where}: a string without a rule for its characters")


def test_every_operation_documents_the_statuses_its_declaration_implies():
    for service, doc in _documents().items():
        for path, methods in doc["paths"].items():
            for method, op in methods.items():
                codes = set(op["responses"])
                label = f"{service}: {method.upper()} {path}"
                assert "400" in codes and ("503" in codes or path in ("/healthz", "/openapi.json", "/metrics")), label
                if "requestBody" in op:
                    assert {"413", "415"} <= codes, label
                if "{" in path:
                    assert "404" in codes, label
                if op.get("security"):
                    assert {"401", "403"} <= codes, label
                if any(p["name"] == "If-Match" for p in op.get("parameters", [])):
                    assert {"412", "428"} <= codes, label
                for code, answer in op["responses"].items():
                    if path == "/oauth/token" and code in ("400", "401"):
                        continue  # OAuth errors are application/json {"error", ...} (RFC 6749 §5.2)
                    if code >= "400":
                        assert "application/problem+json" in answer["content"], label
    issue = _documents()["identity"]["components"]["schemas"]["IssueIn"]
    assert issue["oneOf"] == [{"required": ["school_year"]}, {"required": ["class_id"]}, {"required": ["student_id"]}]
