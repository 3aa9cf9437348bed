"""Every service's OpenAPI document, fuzzed with schemathesis against the real service (in process,
real PostgreSQL and RabbitMQ), with a token per role: no answer is a server error (5xx), every
status is one the document names for that operation, with the documented content type, and every
answer matches its documented schema (problem+json for the errors).

Per operation: ``FUZZ_EXAMPLES`` (50) cases with data that fits the document and as many with data
that does not (schemathesis' positive and negative generation), each sent with the token of a role
(or none): half of the time a role that may call the route (the access matrix of
tests/integration/dossier/test_route_matrix.py), else any. Path parameters are, half of the time,
ids that exist (so a case gets past the look-up), and ``If-Match`` sometimes a version a dossier
has. Hypothesis runs derandomized and without shrinking, so a run is repeatable and bounded (about
50 s for all services); a failure names the operation and the request (a curl command).

What schemathesis does not generate (a NUL inside free-form JSON, 50,000 levels of nesting, null in
a PATCH field, an integer beyond int32) is tested explicitly in test_input_layer.py."""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Callable

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, reject, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from services.portal.app import make_app as make_portal
from services.portal.settings import PortalSettings
from shared.app import API, CONSUMER, DB, SETTINGS
from tests.integration.document.letters import envelope, letters_batch
from tests.integration.dossier.world import MINOR, World, beside, open_world
from tests.integration.identity.conftest import LOGINS, world as identity_world
from tests.support.apps import serve, settings as app_settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
# negative_data_rejection is left out on purpose: the services ignore query parameters they do not know
# and take an empty one as absent (clients and forms send ?klas=), which it counts as accepting bad data
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
Headers = Callable[[], dict[str, str]]


@dataclass
class Target:
    """One running service as the fuzzer sees it."""
    name: str
    document: dict
    base_url: str
    callers: dict[str, Headers]               # role -> headers (a callable: identity logs in lazily)
    known: dict[str, list[str]] = field(default_factory=dict)  # path parameter -> ids that exist
    callers_for: dict[str, dict[str, Headers]] = field(default_factory=dict)  # operation label -> its callers
    allowed: dict[str, list[str]] = field(default_factory=dict)  # operation label -> roles that pass its gate


@dataclass
class Outcome:
    failures: list[str]
    statuses: Counter
    cases: Counter
    seconds: float


def fuzz(target: Target, examples: int = EXAMPLES) -> Outcome:
    """Runs in a thread: the services answer on the test's event loop meanwhile."""
    started = time.monotonic()
    schema = schemathesis.openapi.from_dict(target.document)
    session = requests.Session()
    failures: list[str] = []
    statuses: Counter = Counter()
    cases: Counter = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        callers = target.callers_for.get(operation.label, target.callers)
        roles = sorted(callers)
        allowed = [r for r in target.allowed.get(operation.label, []) if r in callers]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], verbosity=Verbosity.quiet,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode), role=st.sampled_from(roles), data=st.data())
            def run(case, role, data):
                if allowed and data.draw(st.booleans()):  # half of the cases get past the role check
                    role = data.draw(st.sampled_from(allowed))
                for name in list(case.path_parameters or {}):
                    if target.known.get(name) and data.draw(st.booleans()):
                        case.path_parameters[name] = data.draw(st.sampled_from(target.known[name]))
                if case.headers and "If-Match" in case.headers and data.draw(st.booleans()):
                    case.headers["If-Match"] = f'"{data.draw(st.integers(0, 8))}"'
                headers = callers[role]()
                try:
                    response = case.call(base_url=target.base_url, session=session, headers=headers, timeout=60)
                except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, UnicodeError,
                        ValueError):
                    reject()  # the client cannot send it (a header requests refuses): not the service's doing
                statuses[response.status_code] += 1
                cases[operation.label] += 1
                case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                run()
            except Unsatisfiable:
                pass  # nothing to get wrong (no parameters, no body): the positive cases covered it
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every failure is reported
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
    session.close()
    return Outcome(failures, statuses, cases, time.monotonic() - started)


def report(target: Target, outcome: Outcome) -> str:
    return (f"{target.name}: {sum(outcome.cases.values())} requests over {len(outcome.cases)} operations in "
            f"{outcome.seconds:.1f} s; statuses {dict(sorted(outcome.statuses.items()))}")


async def run_fuzz(target: Target) -> None:
    outcome = await asyncio.to_thread(fuzz, target)
    print("\n" + report(target, outcome))
    assert not outcome.failures, "\n\n".join(outcome.failures)
    assert {"/healthz", "/readyz", "/openapi.json"} <= set(target.document["paths"]), "the service's own routes"
    documented = sum(len(methods) for methods in target.document["paths"].values())
    assert len(outcome.cases) == documented, "every operation was called"
    assert all(code < 500 for code in outcome.statuses)


def served_document(app) -> dict:
    return app[API].document(app[SETTINGS])


# --------------------------------------------------------------------------- the services


@pytest.fixture(scope="module")
async def dossier_world():
    async with AsyncExitStack() as stack:
        yield await open_world(stack, "fuzz")


def _fixed(headers: dict[str, str]) -> Headers:
    return lambda: headers


def _allowed(service: str) -> dict[str, list[str]]:
    """Who passes each route's gate, from the access matrix (tests/integration/dossier/test_route_matrix.py)."""
    from tests.integration.dossier.test_route_matrix import LINK, MATRIX, PUBLIC

    names = {"student": ["student", "student (minor)"],
             "counsellor": ["counsellor", "counsellor (asked for the letters)"]}
    return {f"{method} {path}": (["anonymous"] if roles in (PUBLIC, LINK) else
                                 [name for role in sorted(roles) for name in names.get(role, [role])])
            for (method, path), roles in MATRIX[service].items()}


async def _dossier_cast(world: World) -> tuple[dict[str, Headers], dict[str, list[str]], object, object]:
    school, mbo = await world.school(parent_rule="consent"), await world.mbo()
    student = await world.student(school)
    minor = await world.student(school, born=MINOR)
    fresh = await world.create(student, mbo)
    agreement = await world.to_agreement(minor, mbo)
    other = await world.student(school)
    completed = await world.to_completed(other, mbo)
    iss = world.issuer
    callers = {
        "anonymous": _fixed({}),
        "student": _fixed(world.as_student(student)),
        "student (minor)": _fixed(world.as_student(minor)),
        "student without a code": _fixed(iss.headers("student")),
        "mentor": _fixed(world.as_mentor(student.klass.mentors[0])),
        "counsellor": _fixed(world.as_counsellor(school)),
        "mbo_staff": _fixed(world.as_mbo(mbo)),
        "client": _fixed(world.as_client(mbo)),
        "school_admin": _fixed(iss.headers("school_admin", school_id=school.school_id)),
        "admin": _fixed(iss.headers("admin")),
    }
    known = {"dossier_id": [fresh["id"], agreement["id"], completed["id"]],
             "student_id": [str(student.student_id), str(minor.student_id)],
             "section_id": ["personal_details", "guidance", "assessment_advice", "follow_up_programme"],
             "kind": ["part_a", "part_b"], "school_year": ["2026-2027"]}
    return callers, known, school, mbo


async def test_the_dossier_api_answers_as_documented(dossier_world: World):
    callers, known, _, _ = await _dossier_cast(dossier_world)
    await run_fuzz(Target("dossier", served_document(dossier_world.app), str(dossier_world.client.make_url("")),
                          callers, known, allowed=_allowed("dossier")))


async def test_the_document_and_notification_apis_answer_as_documented(dossier_world: World):
    callers, known, school, _ = await _dossier_cast(dossier_world)
    owner = uuid.uuid4()
    callers["counsellor (asked for the letters)"] = _fixed(dossier_world.issuer.headers(
        "counsellor", account_id=owner, staff_id=school.counsellor.staff_id, school_id=school.school_id))
    async with beside(dossier_world, "fuzz") as n:
        document, doc_client, notification, notification_client = (
            n.document, n.document_client, n.notification, n.notification_client)
        batch = letters_batch(2, school_id=school.school_id, requested_by=owner)
        assert await document[CONSUMER].process(envelope(batch))
        async with document[DB].acquire() as conn:
            job_id = await conn.fetchval("SELECT id FROM print_jobs WHERE batch_id = $1", batch.batch_id)
        known["job_id"] = [str(job_id)]
        await run_fuzz(Target("document", served_document(document), str(doc_client.make_url("")), callers, known,
                              allowed=_allowed("document")))
        await run_fuzz(Target("notification", served_document(notification), str(notification_client.make_url("")),
                              callers, known, allowed=_allowed("notification")))


async def test_the_identity_api_answers_as_documented(unique):
    limits = dict(login_account_soft_limit=10_000, login_account_hard_limit=10_000, login_ip_soft_limit=10_000,
                  login_ip_hard_limit=10_000, register_ip_soft_limit=10_000, register_ip_hard_limit=10_000,
                  redeem_soft_limit=10_000, redeem_hard_limit=10_000, throttle_max_delay_seconds=0)
    async with identity_world(f"fuzz_id_{unique}", **limits) as w:
        loop = asyncio.get_running_loop()
        tokens = {who: await w.headers(who) for who in LOGINS}
        ids = {"school_id": [str(r["id"]) for r in await _rows(w, "SELECT id FROM schools")],
               "programme_id": [str(r["id"]) for r in await _rows(w, "SELECT id FROM programmes")],
               "class_id": [str(r["id"]) for r in await _rows(w, "SELECT id FROM classes")],
               "student_id": [str(r["id"]) for r in await _rows(w, "SELECT id FROM students")],
               # not the staff whose tokens the fuzzer uses: deactivating them would end its sessions
               "staff_id": [str(r["id"]) for r in await _rows(
                   w, "SELECT s.id FROM staff s LEFT JOIN accounts a ON a.id = s.account_id "
                      "WHERE a.email IS NULL OR NOT a.email = ANY($1::text[])",
                   [email for email, _ in LOGINS.values()])]}

        # a machine client (issue 12), so that its routes get past the look-up
        mbo = [str(r["id"]) for r in await _rows(w, "SELECT id FROM schools WHERE kind = 'mbo'")]
        r = await w.client.post("/v1/clients", json={"institution_id": mbo[0], "name": "Fuzz-koppeling",
                                                     "scopes": ["dossiers:read"]}, headers=tokens["admin"])
        assert r.status == 201, await r.text()
        ids["client_id"] = [(await r.json())["client_id"]]

        def fresh_login(who: str) -> Headers:
            def headers() -> dict[str, str]:  # for logging out: a session of its own each time
                body = asyncio.run_coroutine_threadsafe(w.login(*LOGINS[who]), loop).result(60)
                return {"Authorization": f"Bearer {body['access_token']}"}
            return headers

        callers = {"anonymous": _fixed({}), **{who: _fixed(h) for who, h in tokens.items()}}
        logout = {"anonymous": _fixed({}), **{who: fresh_login(who) for who in LOGINS}}
        target = Target("identity", served_document(w.app), str(w.client.make_url("")), callers, ids,
                        callers_for={"DELETE /v1/sessions/current": logout})
        await run_fuzz(target)


async def _rows(w, sql: str, *args):
    async with w.app[DB].acquire() as conn:
        return await conn.fetch(sql, *args)


async def test_the_portal_answers_as_documented(unique):
    portal = make_portal(app_settings(PortalSettings, f"fuzz_portal_{unique}", identity_url="http://127.0.0.1:9",
                                      dossier_url="http://127.0.0.1:9", document_url="http://127.0.0.1:9",
                                      auth_jwks_url="http://127.0.0.1:9/.well-known/jwks.json"))
    async with serve(portal) as client:
        await run_fuzz(Target("portal", served_document(portal), str(client.make_url("")), {"anonymous": _fixed({})}))
