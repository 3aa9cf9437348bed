"""Overviews for the school: the mentor's worklist ("te behandelen"), "mijn leerlingen" (search,
filter, best choice, furthest dossier), counts per status and the students who wait too long in
the agreement step. A mentor sees the classes linked to them, a counsellor the whole school;
archived dossiers are left out of the counts and lines, but each student says how many they have
(``archived_count``), ``archived`` finds the students with one, and a student's dossiers
(``/v1/students/{id}/dossiers``) include them: the archive stays reachable."""
from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from services.dossier import store
from services.dossier.context import settings_of
from services.dossier.domain import workflow as wf
from services.dossier.domain.names import full_name
from services.dossier.schemas import (DossierList, PagingQuery, StudentSearchBody, StudentsQuery,
                                      WorklistSearchBody)
from services.dossier.views import SUMMARY_SELECT, summary
from services.dossier.queries import (Query, StudentSearch, name_words, scope_dossiers, scope_students,
                                      student_search_sql)
from services.dossier.routes.common import (
    STAFF_ROLES,
    STUDENT_NOT_FOUND,
    Actor,
    api,
    uuid_param,
)
from shared.api import json_response, read_body, read_query
from shared.app import DB
from shared.auth import require
from shared.problems import Problem

TAGS = ("overzichten",)


def paging(request: web.Request, query: PagingQuery | None = None) -> tuple[int, int]:
    """The page and page size asked in the query (``?page=&page_size=``)."""
    query = query or read_query(request, PagingQuery)
    return query.page, page_size_of(request, query.page_size)


def page_size_of(request: web.Request, asked: int | None) -> int:
    """A search body's page size: the default when absent, at most the configured maximum."""
    settings = settings_of(request.app)
    size = asked or settings.page_size_default
    if size > settings.page_size_max:
        raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input", errors=[
            {"field": "page_size", "message": f"Kies een geheel getal van 1 tot en met {settings.page_size_max}."}])
    return size


def _overdue(request: web.Request) -> timedelta:
    return timedelta(days=settings_of(request.app).agreement_overdue_days)


def _name(row, prefix: str = "") -> str | None:
    if row[prefix + "roepnaam"] is None:
        return None
    return full_name(row[prefix + "roepnaam"], row[prefix + "tussenvoegsel"], row[prefix + "achternaam"])


def _label(state: str, archived: bool = False) -> str:
    return wf.ARCHIVED_LABEL if archived else wf.STATE_LABELS[wf.State(state)]


@api.route("GET", "/v1/overviews/worklist", summary="Te behandelen dossiers (deel B) van de mentor of de school "
           "(zoeken op naam: POST .../search)", tags=TAGS, auth=True, query=PagingQuery)
async def worklist(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    if "q" in request.query:
        raise Problem(422, "Zoek op naam met POST /v1/overviews/worklist/search: een naam hoort niet in een URL.",
                      code="invalid-input", errors=[{"field": "q", "message": "Stuur de zoekterm in de body."}])
    page, size = paging(request)
    return await _worklist(request, principal, "", None, page, size)


@api.route("POST", "/v1/overviews/worklist/search", summary="Te behandelen dossiers zoeken op naam (q) of klas",
           body=WorklistSearchBody, tags=TAGS, auth=True)
async def search_worklist(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    body = await read_body(request, WorklistSearchBody)
    return await _worklist(request, principal, body.q, body.class_id, body.page,
                           page_size_of(request, body.page_size))


async def _worklist(request: web.Request, principal, text: str, class_id, page: int, size: int) -> web.Response:
    q = Query()
    q.where("d.state = 'part_b' AND NOT d.archived")
    q.where("coalesce(s.active, true)")  # a student who left: nothing more to do for them
    scope_dossiers(q, principal)
    if class_id is not None:
        q.where(f"s.class_id = {q.arg(class_id)}")
    name_words(q, text)
    base = f"FROM dossiers d LEFT JOIN students s ON s.student_id = d.student_id WHERE {q.sql}"
    async with request.app[DB].acquire(timeout=10) as conn:
        total = await conn.fetchval("SELECT count(*) " + base, *q.args)
        rows = await conn.fetch(
            f"""SELECT d.id, d.student_id, d.version, d.part_b_started, d.submitted_at, d.progress, d.mentor_id,
                       d.mentor_name, d.choice_kind, s.roepnaam, s.tussenvoegsel, s.achternaam, s.class_name,
                       coalesce(inst.name, d.other_school_name) AS institution_name, p.name AS programme_name
                FROM (SELECT d.* {base} ORDER BY d.submitted_at, d.id LIMIT {size} OFFSET {(page - 1) * size}) d
                LEFT JOIN students s ON s.student_id = d.student_id
                LEFT JOIN schools inst ON inst.school_id = d.institution_id
                LEFT JOIN programmes p ON p.programme_id = d.programme_id
                ORDER BY d.submitted_at, d.id""", *q.args)
        await store.audit(conn, Actor.of(principal), "view", "overview:worklist")
    return json_response({"total": total, "page": page, "page_size": size, "dossiers": [{
        "id": str(r["id"]), "student_id": str(r["student_id"]), "student_name": _name(r), "class_name": r["class_name"],
        "version": r["version"], "part_b_started": r["part_b_started"],
        "action_label": "Verder met deel B" if r["part_b_started"] else "Start deel B",
        "submitted_at": r["submitted_at"].isoformat() if r["submitted_at"] else None,
        "step_progress": r["progress"], "mentor": {"staff_id": str(r["mentor_id"]), "name": r["mentor_name"]}
        if r["mentor_id"] else None,
        "choice": {"kind": r["choice_kind"], "institution_name": r["institution_name"],
                   "programme_name": r["programme_name"]}} for r in rows]})


def _dossier_brief(r, p: str) -> dict | None:
    if r[p + "id"] is None:
        return None
    return {"id": str(r[p + "id"]), "state": r[p + "state"], "state_label": _label(r[p + "state"]),
            "step_progress": r[p + "progress"], "institution_name": r[p + "institution"],
            "programme_name": r[p + "programme"], "handled": r[p + "handled_at"] is not None}


async def _students(request: web.Request, principal, search: StudentSearch) -> web.Response:
    count_sql, count_args, page_sql, page_args = student_search_sql(search)
    async with request.app[DB].acquire(timeout=10) as conn:
        total = await conn.fetchval(count_sql, *count_args)
        rows = await conn.fetch(page_sql, *page_args)
        await store.audit(conn, Actor.of(principal), "view", "overview:students")
    return json_response({"total": total, "page": search.page, "page_size": search.size, "students": [{
        "student_id": str(r["student_id"]), "name": _name(r), "class_id": str(r["class_id"]),
        "class_name": r["class_name"], "leerjaar": r["leerjaar"], "email": r["email"],
        "dossier_count": r["dossiers"], "archived_count": r["archived_dossiers"], "best_choice": _dossier_brief(r, "b_"), "furthest": _dossier_brief(r, "f_"),
        "agreement_overdue": r["overdue_since"] is not None,
        "agreement_since": r["overdue_since"].isoformat() if r["overdue_since"] else None} for r in rows]})


@api.route("GET", "/v1/overviews/students",
           summary="Mijn leerlingen: filteren op klas (class_id), leerjaar, overdue en archived, pagina's (zoeken op "
                   "naam: POST .../search)",
           tags=TAGS, auth=True, query=StudentsQuery)
async def students(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    if "q" in request.query:
        raise Problem(422, "Zoek op naam met POST /v1/overviews/students/search: een naam hoort niet in een URL.",
                      code="invalid-input", errors=[{"field": "q", "message": "Stuur de zoekterm in de body."}])
    query = read_query(request, StudentsQuery)
    page, size = paging(request, query)
    return await _students(request, principal, StudentSearch(
        role=principal.role, staff_id=principal.staff_id, school_id=principal.school_id,
        class_id=query.class_id, leerjaar=query.leerjaar, overdue_only=query.overdue,
        archived_only=query.archived, page=page, size=size,
        overdue=_overdue(request)))


@api.route("POST", "/v1/overviews/students/search",
           summary="Mijn leerlingen: zoeken op naam (q), met dezelfde filters, pagina's", body=StudentSearchBody,
           tags=TAGS, auth=True)
async def search_students(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    body = await read_body(request, StudentSearchBody)
    return await _students(request, principal, StudentSearch(
        role=principal.role, staff_id=principal.staff_id, school_id=principal.school_id, class_id=body.class_id,
        leerjaar=body.leerjaar, q=body.q, overdue_only=body.overdue, archived_only=body.archived, page=body.page,
        size=page_size_of(request, body.page_size), overdue=_overdue(request)))


@api.route("GET", "/v1/overviews/counts", summary="Aantallen dossiers per status (mentor: eigen klassen; decaan: school)",
           tags=TAGS, auth=True)
async def counts(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    q = Query()
    scope_dossiers(q, principal)
    overdue = q.arg(_overdue(request))
    s = Query()
    scope_students(s, principal)
    async with request.app[DB].acquire(timeout=10) as conn:
        rows = await conn.fetch(
            f"""SELECT d.state, d.archived, count(*) AS n,
                       count(*) FILTER (WHERE d.state = 'agreement' AND NOT d.archived
                                        AND d.state_changed_at < now() - {overdue}::interval) AS overdue,
                       count(*) FILTER (WHERE d.state = 'completed' AND d.handled_at IS NOT NULL) AS handled
                FROM dossiers d LEFT JOIN students s ON s.student_id = d.student_id
                WHERE {q.sql} GROUP BY d.state, d.archived""", *q.args)
        students_total, without = await conn.fetchrow(
            f"""SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (
                    SELECT 1 FROM dossiers d WHERE d.student_id = s.student_id AND NOT d.archived))
                FROM students s WHERE s.active AND {s.sql}""", *s.args)
        await store.audit(conn, Actor.of(principal), "view", "overview:counts")
    by_state = {state.value: 0 for state in wf.State}
    archived = overdue_n = handled = 0
    for r in rows:
        if r["archived"]:
            archived += r["n"]
        else:
            by_state[r["state"]] += r["n"]
        overdue_n += r["overdue"]
        handled += r["handled"]
    return json_response({"states": [{"state": k, "label": _label(k), "count": v} for k, v in by_state.items()],
                          "archived": archived, "agreement_overdue": overdue_n, "completed_handled": handled,
                          "students": students_total, "students_without_dossier": without})


@api.route("GET", "/v1/overviews/agreement-overdue",
           summary="Leerlingen die te lang in de stap akkoordverklaring staan (met laatste herinnering)",
           tags=TAGS, auth=True, query=PagingQuery)
async def agreement_overdue(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    page, size = paging(request)
    q = Query()
    q.where(f"d.state = 'agreement' AND NOT d.archived AND d.state_changed_at < now() - {q.arg(_overdue(request))}::interval")
    q.where("coalesce(s.active, true)")
    scope_dossiers(q, principal)
    base = f"FROM dossiers d LEFT JOIN students s ON s.student_id = d.student_id WHERE {q.sql}"
    async with request.app[DB].acquire(timeout=10) as conn:
        total = await conn.fetchval("SELECT count(*) " + base, *q.args)
        rows = await conn.fetch(
            f"""SELECT d.id, d.student_id, d.state_changed_at, s.roepnaam, s.tussenvoegsel, s.achternaam, s.class_name,
                       {store.STUDENT_EMAIL} IS NOT NULL AS mail_possible,
                       (SELECT max(r.day) FROM reminders r WHERE r.dossier_id = d.id) AS last_reminder
                {base} ORDER BY d.state_changed_at, d.id LIMIT {size} OFFSET {(page - 1) * size}""", *q.args)
        now_ = await conn.fetchval("SELECT now()")
        await store.audit(conn, Actor.of(principal), "view", "overview:agreement_overdue")
    return json_response({"total": total, "page": page, "page_size": size, "dossiers": [{
        "id": str(r["id"]), "student_id": str(r["student_id"]), "student_name": _name(r), "class_name": r["class_name"],
        "in_agreement_since": r["state_changed_at"].isoformat(), "waiting_days": (now_ - r["state_changed_at"]).days,
        "last_reminder": r["last_reminder"].isoformat() if r["last_reminder"] else None,
        "mail_possible": r["mail_possible"]} for r in rows]})


@api.route("GET", "/v1/overviews/classes", summary="De klassen om op te filteren (mentor: eigen klassen; decaan: school)",
           tags=TAGS, auth=True)
async def classes(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    async with request.app[DB].acquire(timeout=10) as conn:
        if principal.role == "mentor":
            rows = await conn.fetch(
                """SELECT c.class_id, c.name, c.leerjaar FROM classes c JOIN class_mentors cm USING (class_id)
                   WHERE cm.staff_id = $1 ORDER BY c.leerjaar, c.name""", principal.staff_id)
        else:
            rows = await conn.fetch("SELECT class_id, name, leerjaar FROM classes WHERE school_id = $1 "
                                    "ORDER BY leerjaar, name", principal.school_id)
    return json_response({"classes": [{"class_id": str(r["class_id"]), "name": r["name"], "leerjaar": r["leerjaar"]}
                                      for r in rows]})


@api.route("GET", "/v1/students/{student_id}/dossiers",
           summary="Alle dossiers van een leerling, ook gearchiveerde (mentor van de klas, decaan)",
           response=DossierList, tags=TAGS, auth=True)
async def student_dossiers(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    student_id = uuid_param(request, "student_id", STUDENT_NOT_FOUND)
    async with request.app[DB].acquire(timeout=10) as conn:
        await store.load_student(conn, principal, student_id)
        rows = await conn.fetch(SUMMARY_SELECT + " WHERE d.student_id = $1 ORDER BY d.archived, d.created_at DESC",
                                student_id)
        await store.audit(conn, Actor.of(principal), "view", "dossier_list", student_id=student_id)
    return json_response(DossierList(dossiers=[summary(r) for r in rows]))
