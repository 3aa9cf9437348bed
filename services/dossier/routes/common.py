"""What every handler of the dossier API shares: the Api, versions (ETag / If-Match), paging,
the audit purpose, the acting person, and workflow errors as problems."""
from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

import asyncpg
from aiohttp import web

from services.dossier import store
from services.dossier.actors import Actor  # noqa: F401  (re-exported for handlers)
from services.dossier.domain import workflow as wf
from services.dossier.store import NOT_FOUND, STUDENT_NOT_FOUND  # noqa: F401  (re-exported)
from services.dossier.schemas import PurposeQuery
from shared.api import Api, Header, json_response, read_query
from shared.app import DB
from shared.auth import Principal
from shared.problems import Problem

api = Api(title="Doorstroom dossier")

STAFF_ROLES = ("mentor", "counsellor")
VIEW_ROLES = ("student", "mentor", "counsellor", "mbo_staff")
_PURPOSE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def etag(version: int) -> str:
    return f'"{version}"'


def if_match(request: web.Request) -> set[str]:
    """The versions the client says it read; 428 when it sent none."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise Problem(428, "Stuur de versie mee die je hebt gelezen (If-Match), zodat je niemands wijzigingen "
                           "overschrijft.", code="version-required")
    tags = set()
    for part in header.split(","):
        part = part.strip()
        if part.startswith("W/"):
            part = part[2:]
        tags.add(part.strip('"'))
    return tags


def check_version(request: web.Request, current: int, what: str = "Dit dossier") -> None:
    """412 when the client's If-Match is not the current version (nothing is changed then)."""
    if str(current) not in if_match(request):
        raise Problem(412, f"{what} is intussen door iemand anders gewijzigd. Laad de gegevens opnieuw en "
                           "probeer het nog eens.", code="version-mismatch", current_version=current,
                      headers={"ETag": etag(current)})


def uuid_param(request: web.Request, name: str, detail: str = NOT_FOUND) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise Problem(404, detail) from None


def purpose_of(request: web.Request) -> str:
    """Why the caller reads: ``?purpose=pdf`` or ``X-Purpose: pdf`` (default ``view``), for the audit."""
    raw = read_query(request, PurposeQuery).purpose or request.headers.get("X-Purpose") or "view"
    if not _PURPOSE.fullmatch(raw):
        raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input",
                      errors=[{"field": "purpose", "message": "Gebruik kleine letters, bijvoorbeeld pdf."}])
    return raw


PURPOSE_HEADER = Header("X-Purpose", "why you read, for the audit (as ?purpose=): view, pdf, ...", max_length=32)


def workflow_role(principal: Principal) -> wf.Role:
    return wf.Role(principal.role)


def run(action, *args, **kwargs):
    """Call a workflow action; its refusals become problems (403 or 409, Dutch, with a code)."""
    try:
        return action(*args, **kwargs)
    except wf.WorkflowError as err:
        raise Problem(err.status, err.reason, code=err.code.replace("_", "-"), **err.details) from None


def require_student_link(principal: Principal) -> uuid.UUID:
    if principal.student_id is None:
        raise Problem(403, "Vul eerst je activatiecode in; daarna kun je een dossier maken.",
                      code="activation-required")
    return principal.student_id


@asynccontextmanager
async def locked_dossier(request: web.Request, principal: Principal | None, dossier_id: uuid.UUID, *,
                         student_lock: bool = False, with_sections: bool = False,
                         ) -> AsyncIterator[tuple[asyncpg.Connection, asyncpg.Record]]:
    """One transaction around a change: the dossier row locked (404 when not the caller's);
    ``with_sections``: loaded with its sections (``store.all_sections``).

    ``student_lock``: the change touches the student-specific part B, which is shared by the
    student's dossiers; then the student is locked first (``store.lock_dossier_student``), before
    any dossier, the one order every such transaction follows, so they cannot deadlock."""
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        if student_lock:
            await store.lock_dossier_student(conn, dossier_id)
        row = await store.load_dossier(conn, principal, dossier_id, lock=True, with_sections=with_sections)
        check_changeable(row)
        yield conn, row


# how often a change is tried optimistically (``optimistic``) before it waits for the lock
OPTIMISTIC_TRIES = 2


async def optimistic(request: web.Request, principal: Principal, dossier_id: uuid.UUID,
                     attempt: Callable[[asyncpg.Connection, Mapping[str, Any], int | None],
                                       Awaitable[web.Response | None]], *, part_a_save: bool = False) -> web.Response:
    """A change of one dossier in as few round trips as it takes: read the dossier with its sections
    (404 when not the caller's), then ``attempt(conn, row, if_version)`` checks it and writes the
    change in one statement only if the dossier is still at the version read (``store.change`` with
    ``if_version``: every change of the dossier or its sections makes a new version), or answers None
    having written nothing. No transaction is held meanwhile; should someone else change the dossier
    in between, it is read again, and the last try runs under the lock (``locked_dossier``), where
    ``attempt`` gets ``if_version`` None and must write. For changes that touch only the dossier
    and rows that hang on it, never the student-specific part B (that needs the student lock).
    ``part_a_save``: the optimistic reads are ``load_dossier(part_a_save=True)``'s lighter one."""
    for _ in range(OPTIMISTIC_TRIES):
        async with request.app[DB].acquire(timeout=10) as conn:
            row = await store.load_dossier(conn, principal, dossier_id, with_sections=True, part_a_save=part_a_save)
            check_changeable(row)
            response = await attempt(conn, row, row["version"])
        if response is not None:
            return response
    async with locked_dossier(request, principal, dossier_id, with_sections=True) as (conn, row):
        response = await attempt(conn, row, None)
    assert response is not None, "under the lock the change is written"
    return response


def check_changeable(row: Mapping[str, Any]) -> None:
    """409 when the dossier's student left the school (the dossier is read-only then)."""
    if row["student_active"] is False and row["state"] != "completed":
        raise Problem(409, LEFT_SCHOOL, code="student-left")


# a student the school marked as left (identity.student_changed: active false): their dossiers stay
# readable (and a completed one with the MBO) until the retention rule erases them, but change no more
LEFT_SCHOOL = ("Deze leerling staat niet meer ingeschreven bij de school. Het dossier kan nog worden gelezen en "
               "gedownload, maar niet meer worden gewijzigd.")


async def answer_dossier(conn: asyncpg.Connection, dossier_id: uuid.UUID, role: str, status: int = 200, *,
                        row: Mapping[str, Any] | None = None) -> web.Response:
    """The dossier as ``role`` sees it now, with its ETag (a change's own answer: no view is audited).
    ``row``: the dossier as it is now in this transaction (``store.changed``), so it is not loaded again."""
    from services.dossier.views import dossier_view

    if row is None:
        row = await store.load_dossier(conn, None, dossier_id)
    view = await dossier_view(conn, row, role)
    return json_response(view, status=status, headers={"ETag": view.etag})


async def answer_changed(conn: asyncpg.Connection, row: Mapping[str, Any], updated: Mapping[str, Any],
                         role: str, *, same_sections: bool = False) -> web.Response:
    """``answer_dossier`` after ``store.change`` returned ``updated`` for the loaded ``row``
    (``same_sections``: no section changed since ``row`` had its sections read)."""
    return await answer_dossier(conn, row["id"], role, row=store.changed(row, updated, same_sections=same_sections))
