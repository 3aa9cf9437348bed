"""Dossier's HTTP API as the portal uses it: every path of dossier is named here, once.
Writes send the version the page was made from (If-Match: the dossier's version for actions, the
section's version for saving a section), so two people cannot silently overwrite each other."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from services.portal.backend import call, get_json, raw_call, send_json

# the portal's names for dossier actions -> dossier's paths (under /v1/dossiers/{id})
ACTIONS = {
    "submit": "submit", "reset": "reset-to-part-a", "back-to-part-a": "back-to-part-a",
    "complete": "complete", "archive": "archive", "reactivate": "reactivate",
    "start-part-b": "part-b/start", "send-part-b": "send-part-b", "remind": "reminders",
}


def _match(version: Any) -> dict[str, str]:
    if version is None or version == "":
        return {}
    text = str(version)
    return {"If-Match": text if text.startswith('"') else f'"{text}"'}


async def dossier(request: web.Request, dossier_id: str) -> tuple[dict, str | None]:
    reply = await call(request, "dossier", "GET", f"/v1/dossiers/{dossier_id}")
    return reply.json(), reply.headers.get("ETag")


async def my_dossiers(request: web.Request) -> list[dict]:
    return (await get_json(request, "dossier", "/v1/dossiers")).get("dossiers", [])


async def create(request: web.Request) -> dict:
    return await send_json(request, "dossier", "POST", "/v1/dossiers", {})


async def save_section(request: web.Request, dossier_id: str, part: str, section: str,
                       answers: dict[str, Any], section_version: Any) -> dict:
    path = {"part_a": f"/v1/dossiers/{dossier_id}/part-a/{section}",
            "part_b": f"/v1/dossiers/{dossier_id}/part-b/{section}"}[part]
    return await send_json(request, "dossier", "PUT", path, {"answers": answers},
                           headers=_match(section_version if section_version is not None else 0))


async def mentors(request: web.Request) -> list[dict]:
    return (await get_json(request, "dossier", "/v1/me/mentors")).get("mentors", [])


async def action(request: web.Request, dossier_id: str, name: str, version: Any,
                 body: dict[str, Any] | None = None) -> dict:
    return await send_json(request, "dossier", "POST", f"/v1/dossiers/{dossier_id}/{ACTIONS[name]}",
                           body or {}, headers=_match(version))


async def handled(request: web.Request, dossier_id: str, version: Any) -> dict:
    return await send_json(request, "dossier", "POST", f"/v1/mbo/dossiers/{dossier_id}/handled", {},
                           headers=_match(version))


async def oso_xml(request: web.Request, dossier_id: str) -> bytes:
    """A completed dossier as an OSO file (XML), for MBO staff."""
    return (await call(request, "dossier", "GET", f"/v1/mbo/dossiers/{dossier_id}/oso")).body


async def save_agreement(request: web.Request, dossier_id: str, remark: str, version: Any) -> dict:
    return await send_json(request, "dossier", "PUT", f"/v1/dossiers/{dossier_id}/agreement",
                           {"remark": remark or None}, headers=_match(version))


async def parent_link(request: web.Request, dossier_id: str, email: str, version: Any) -> dict:
    """``email`` empty: the first parent the school's roster knows."""
    return await send_json(request, "dossier", "POST", f"/v1/dossiers/{dossier_id}/parent-link",
                           {"parent_email": email} if email else {}, headers=_match(version))


async def history(request: web.Request, dossier_id: str) -> list[dict]:
    return (await get_json(request, "dossier", f"/v1/dossiers/{dossier_id}/history")).get("entries", [])


async def audit(request: web.Request, dossier_id: str) -> list[dict]:
    """The view log (counsellor only): who looked at the dossier or changed it, when and why."""
    return (await get_json(request, "dossier", f"/v1/dossiers/{dossier_id}/audit")).get("entries", [])


async def worklist(request: web.Request, *, q: str, class_id: str | None, page: int, page_size: int) -> dict:
    """Te behandelen; the search goes in a body, so that no name ends up in a URL."""
    body = {"q": q, "class_id": class_id or None, "page": page, "page_size": page_size}
    return await send_json(request, "dossier", "POST", "/v1/overviews/worklist/search", body)


async def counts(request: web.Request) -> dict:
    return await get_json(request, "dossier", "/v1/overviews/counts")


async def my_students(request: web.Request, *, q: str, class_id: str | None, leerjaar: int | None, page: int,
                      page_size: int, archived: bool = False) -> dict:
    """Mijn leerlingen; the search goes in a body, so that no name ends up in a URL. ``archived``:
    only students with an archived dossier."""
    body = {"q": q, "class_id": class_id or None, "leerjaar": leerjaar, "page": page, "page_size": page_size,
            "archived": archived}
    return await send_json(request, "dossier", "POST", "/v1/overviews/students/search", body)


async def student_dossiers(request: web.Request, student_id: str) -> list[dict]:
    """Every dossier of one student, archived ones too (mentor of the class, counsellor)."""
    return (await get_json(request, "dossier", f"/v1/students/{student_id}/dossiers")).get("dossiers", [])


async def student_part_b(request: web.Request, student_id: str) -> dict:
    return await get_json(request, "dossier", f"/v1/students/{student_id}/part-b")


async def save_student_part_b(request: web.Request, student_id: str, section: str, answers: dict[str, Any],
                              section_version: Any) -> dict:
    return await send_json(request, "dossier", "PUT", f"/v1/students/{student_id}/part-b/{section}",
                           {"answers": answers}, headers=_match(section_version or 0))


async def reminders(request: web.Request, params: dict[str, Any]) -> dict:
    return await get_json(request, "dossier", "/v1/overviews/agreement-overdue", params=params)


async def mbo_inbox(request: web.Request, *, q: str, handled: bool, flagged: bool, page: int, page_size: int) -> dict:
    """The MBO inbox; the search goes in a body, so that no name ends up in a URL."""
    body = {"q": q, "handled": handled, "flagged": flagged, "page": page, "page_size": page_size}
    return await send_json(request, "dossier", "POST", "/v1/mbo/dossiers/search", body)


async def retention(request: web.Request) -> dict:
    """The retention rule for the school: what will be erased and from when, and what was erased."""
    return await get_json(request, "dossier", "/v1/retention")


async def my_data(request: web.Request) -> Any:
    return await get_json(request, "dossier", "/v1/me/data")


async def parent_view(request: web.Request, token: str) -> dict:
    reply = await raw_call(request, "dossier", "GET", "/v1/parent/dossier", headers={"X-Parent-Token": token})
    return reply.json()


async def parent_decision(request: web.Request, token: str, decision: str, remark: str, version: Any) -> dict:
    reply = await raw_call(request, "dossier", "POST", "/v1/parent/decision",
                           json={"decision": decision, "remark": remark or None},
                           headers={"X-Parent-Token": token, **_match(version)})
    return reply.json() if reply.body else {}
