"""The access matrix of the dossier, document and notification APIs, generated from their routes:
every route with every role, anonymous, and each role of another school or institution.

- A route missing from the matrix fails the test: a new route needs a decision on who may call it.
- Anonymous: 401 (public routes excepted). A role outside the route's set: 403.
- A role in the set, of the school (or institution) the data belongs to: it passes the gate (no
  401/403, no 5xx).
- The same role of another school or institution never gets the data: a resource route answers
  403, 404 (as if it did not exist) or 422 (the input is checked before the thing is looked up),
  never a state conflict that shows the thing exists; a list answers with nothing of the other
  school; no answer contains an id of the other school's students or dossiers.

Writes go without If-Match where the route wants one, so the matrix changes no dossier. Identity
has its own matrix (tests/integration/identity/test_roles.py)."""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

import pytest

from services.document.app import make_app as make_document
from services.document.settings import DocumentSettings
from services.notification.app import make_app as make_notification
from services.notification.settings import NotificationSettings
from shared.app import CONSUMER, DB
from tests.integration.document.letters import envelope, letters_batch
from tests.integration.dossier.world import GUIDANCE, World, beside

PUBLIC = "public"          # anyone, without a login
LINK = "parent link"       # a parent's personal link in the body or query, no bearer token
STUDENT, MENTOR, COUNSELLOR = "student", "mentor", "counsellor"
SCHOOL_ADMIN, MBO, ADMIN, PARENT = "school_admin", "mbo_staff", "admin", "parent"
CLIENT = "client"  # a machine client of an MBO institution (issue 12), scopes dossiers:read dossiers:handle
ROLES = [STUDENT, PARENT, MENTOR, COUNSELLOR, SCHOOL_ADMIN, MBO, ADMIN, CLIENT]
VO_STAFF = {MENTOR, COUNSELLOR}
SEE_DOSSIER = {STUDENT, MENTOR, COUNSELLOR, MBO}
INFRA = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/openapi.json"), ("GET", "/metrics")}

# (method, route) -> who passes the gate
MATRIX: dict[str, dict[tuple[str, str], set[str] | str]] = {
    "dossier": {
        ("GET", "/v1/forms"): PUBLIC,
        ("GET", "/v1/forms/{kind}/{school_year}"): PUBLIC,
        ("GET", "/v1/dossiers"): {STUDENT},
        ("POST", "/v1/dossiers"): {STUDENT},
        # a client too: the document service renders its PDF from this view
        ("GET", "/v1/dossiers/{dossier_id}"): SEE_DOSSIER | {CLIENT},
        ("GET", "/v1/dossiers/{dossier_id}/history"): {STUDENT} | VO_STAFF,
        ("GET", "/v1/dossiers/{dossier_id}/audit"): {COUNSELLOR},
        ("PUT", "/v1/dossiers/{dossier_id}/part-a/{section_id}"): {STUDENT},
        ("POST", "/v1/dossiers/{dossier_id}/submit"): {STUDENT},
        ("POST", "/v1/dossiers/{dossier_id}/reset-to-part-a"): {STUDENT} | VO_STAFF,
        ("POST", "/v1/dossiers/{dossier_id}/back-to-part-a"): {STUDENT},
        ("POST", "/v1/dossiers/{dossier_id}/part-b/start"): VO_STAFF,
        ("PUT", "/v1/dossiers/{dossier_id}/part-b/{section_id}"): VO_STAFF,
        ("POST", "/v1/dossiers/{dossier_id}/send-part-b"): VO_STAFF,
        ("PUT", "/v1/dossiers/{dossier_id}/agreement"): {STUDENT},
        ("POST", "/v1/dossiers/{dossier_id}/parent-link"): {STUDENT},
        ("POST", "/v1/dossiers/{dossier_id}/complete"): {STUDENT},
        ("POST", "/v1/dossiers/{dossier_id}/archive"): VO_STAFF,
        ("POST", "/v1/dossiers/{dossier_id}/reactivate"): {STUDENT} | VO_STAFF,
        ("POST", "/v1/dossiers/{dossier_id}/reminders"): VO_STAFF,
        ("GET", "/v1/students/{student_id}/dossiers"): VO_STAFF,
        ("GET", "/v1/students/{student_id}/part-b"): VO_STAFF,
        ("PUT", "/v1/students/{student_id}/part-b/{section_id}"): VO_STAFF,
        ("GET", "/v1/me/mentors"): {STUDENT},
        ("GET", "/v1/me/data"): {STUDENT},
        ("GET", "/v1/overviews/worklist"): VO_STAFF,
        ("POST", "/v1/overviews/worklist/search"): VO_STAFF,
        ("GET", "/v1/overviews/students"): VO_STAFF,
        ("POST", "/v1/overviews/students/search"): VO_STAFF,
        ("GET", "/v1/overviews/classes"): VO_STAFF,
        ("GET", "/v1/overviews/counts"): VO_STAFF,
        ("GET", "/v1/overviews/agreement-overdue"): VO_STAFF,
        ("GET", "/v1/mbo/dossiers"): {MBO},
        ("POST", "/v1/mbo/dossiers/search"): {MBO},
        ("POST", "/v1/mbo/dossiers/{dossier_id}/handled"): {MBO},
        ("GET", "/v1/mbo/dossiers/{dossier_id}/oso"): {MBO, CLIENT},  # the OSO export (issue 12)
        ("GET", "/v1/retention"): {COUNSELLOR, SCHOOL_ADMIN},
        ("GET", "/v1/parent/dossier"): LINK,
        ("POST", "/v1/parent/decision"): LINK,
        ("GET", "/v1/feed/completed"): {CLIENT},
        ("GET", "/v1/feed/dossiers/{dossier_id}"): {CLIENT},
        ("POST", "/v1/feed/dossiers/{dossier_id}/handled"): {CLIENT},
    },
    "document": {
        ("GET", "/v1/dossiers/{dossier_id}/pdf"): SEE_DOSSIER | {CLIENT},
        ("GET", "/v1/print-jobs"): VO_STAFF,
        ("GET", "/v1/print-jobs/{job_id}"): VO_STAFF,
        ("GET", "/v1/print-jobs/{job_id}/pdf"): VO_STAFF,
        ("POST", "/v1/print-jobs/{job_id}/retry"): VO_STAFF,
    },
    "notification": {
        ("GET", "/v1/deliveries/stats"): {ADMIN},
        ("GET", "/v1/deliveries/failed"): {ADMIN},
    },
}

BODIES = {  # a plausible body per write route (what matters here is who gets past the gate)
    "/v1/dossiers": {},
    "/v1/dossiers/{dossier_id}/part-a/{section_id}": {"answers": {}},
    "/v1/dossiers/{dossier_id}/part-b/{section_id}": {"answers": GUIDANCE},
    "/v1/students/{student_id}/part-b/{section_id}": {"answers": GUIDANCE},
    "/v1/dossiers/{dossier_id}/agreement": {"agrees": True},
    "/v1/dossiers/{dossier_id}/parent-link": {"email": "ouder@example.nl"},
    "/v1/dossiers/{dossier_id}/submit": {"mentor_id": str(uuid.uuid4())},
    "/v1/overviews/worklist/search": {"q": ""},
    "/v1/overviews/students/search": {"q": ""},
    "/v1/mbo/dossiers/search": {"q": ""},
    "/v1/parent/decision": {"token": "x", "decision": "agree"},
}


@dataclass
class Cast:
    world: World
    clients: dict[str, object]     # per service
    paths: dict[str, str]
    callers: dict[str, dict]       # "student", "student of another school", ...
    secrets_of_a: set[str]         # ids that only school A's (and MBO X's) callers may see


def _other(role: str) -> str:
    return f"{role} of another school or institution"


@pytest.fixture(scope="module")
async def cast(world: World):
    a, b = await world.school(classes=2), await world.school()
    x, y = await world.mbo(), await world.mbo()
    owner = await world.student(a, a.classes[0])
    agreement = await world.to_agreement(owner, x)
    completed_owner = await world.student(a, a.classes[0])
    completed = await world.to_completed(completed_owner, x)
    outsider = await world.student(b, b.classes[0])
    await world.create(outsider, y)
    job_owner = uuid.uuid4()
    async with beside(world, "matrix") as others:
        document, doc_client, notification_client = others.document, others.document_client, \
            others.notification_client
        batch = letters_batch(2, school_id=a.school_id, requested_by=job_owner)
        assert await document[CONSUMER].process(envelope(batch))
        async with document[DB].acquire() as conn:
            job_id = await conn.fetchval("SELECT id FROM print_jobs WHERE batch_id = $1", batch.batch_id)
        iss = world.issuer
        callers = {
            STUDENT: world.as_student(owner), _other(STUDENT): world.as_student(outsider),
            PARENT: iss.headers(PARENT), _other(PARENT): iss.headers(PARENT),
            MENTOR: world.as_mentor(owner.klass.mentors[0]), _other(MENTOR): world.as_mentor(b.classes[0].mentors[0]),
            _other(COUNSELLOR): world.as_counsellor(b),
            SCHOOL_ADMIN: iss.headers(SCHOOL_ADMIN, school_id=a.school_id),
            _other(SCHOOL_ADMIN): iss.headers(SCHOOL_ADMIN, school_id=b.school_id),
            MBO: world.as_mbo(x), _other(MBO): world.as_mbo(y),
            CLIENT: world.as_client(x), _other(CLIENT): world.as_client(y),
            ADMIN: iss.headers(ADMIN), _other(ADMIN): iss.headers(ADMIN),
            "anonymous": {},
        }
        # the counsellor of A asked for the letters: the print job is theirs
        callers[COUNSELLOR] = iss.headers(COUNSELLOR, account_id=job_owner, staff_id=a.counsellor.staff_id,
                                          school_id=a.school_id, name=a.counsellor.name)
        paths = {"dossier_id": agreement["id"], "student_id": str(owner.student_id), "section_id": "guidance",
                 "kind": "part_a", "school_year": "2026-2027", "job_id": str(job_id)}
        secrets = {agreement["id"], completed["id"], str(owner.student_id), str(completed_owner.student_id),
                   str(job_id)}
        clients = {"dossier": world.client, "document": doc_client, "notification": notification_client}
        yield Cast(world, clients, paths, callers, secrets)


def _routes(app) -> set[tuple[str, str]]:
    return {(r.method, r.resource.canonical) for r in app.router.routes()
            if r.method != "HEAD" and r.resource is not None} - INFRA


def test_every_route_has_an_entry(world: World):
    for service, app in (("dossier", world.app), ("document", make_document(DocumentSettings())),
                         ("notification", make_notification(NotificationSettings()))):
        assert _routes(app) == set(MATRIX[service]), f"{service}: routes and matrix differ"


CASES = [(service, method, path, caller)
         for service, routes in MATRIX.items() for (method, path) in routes
         for caller in ["anonymous", *itertools.chain.from_iterable((r, _other(r)) for r in ROLES)]]


@pytest.mark.parametrize("service, method, path, caller", CASES,
                         ids=[f"{s} {m} {p} as {c}" for s, m, p, c in CASES])
async def test_route_matrix(cast: Cast, service: str, method: str, path: str, caller: str):
    client = cast.clients[service]
    allowed = MATRIX[service][(method, path)]
    role = caller.removesuffix(" of another school or institution")
    other = caller != role
    kwargs = {"headers": dict(cast.callers[caller])}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = BODIES.get(path, {})
    url = path.format(**cast.paths)
    r = await client.request(method, url, **kwargs)
    text = (await r.read()).decode("utf-8", "replace")
    assert r.status < 500, (r.status, text)
    if allowed == PUBLIC:
        assert r.status not in (401, 403), text
    elif allowed == LINK:
        assert r.status in (400, 401, 404, 410, 422), "a bearer token is no parent link"
    elif caller == "anonymous":
        assert r.status == 401, text
    elif role not in allowed:
        assert r.status == 403, text
    elif other:
        if "{" in path:
            assert r.status in (403, 404, 422), f"another school's caller must not reach it: {r.status} {text}"
    else:
        assert r.status not in (401, 403), text
    if other or caller == "anonymous" or (allowed not in (PUBLIC, LINK) and role not in allowed):
        leaked = [s for s in cast.secrets_of_a if s in text and s not in url]  # not what the caller sent
        assert not leaked, f"{caller} got ids of another school: {leaked}"
