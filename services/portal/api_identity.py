"""Identity's HTTP API as the portal uses it: every path of identity is named here, once."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from services.portal.backend import call, get_json, raw_call, send_json

# -- anonymous: accounts, login, passwords ------------------------------------------------------

async def register(request: web.Request, bsn: str, email: str) -> None:
    await raw_call(request, "identity", "POST", "/v1/registrations", json={"bsn": bsn, "email": email})


async def complete_registration(request: web.Request, token: str, password: str) -> dict:
    reply = await raw_call(request, "identity", "POST", "/v1/registrations/confirm",
                           json={"token": token, "password": password})
    return reply.json() or {}


async def log_in(request: web.Request, email: str, password: str) -> dict:
    reply = await raw_call(request, "identity", "POST", "/v1/sessions",
                           json={"email": email, "password": password})
    return reply.json()


async def refresh_tokens(request: web.Request, refresh_token: str) -> dict:
    reply = await raw_call(request, "identity", "POST", "/v1/sessions/refresh",
                           json={"refresh_token": refresh_token})
    return reply.json()


async def log_out(request: web.Request, access_token: str | None, refresh_token: str | None) -> None:
    await raw_call(request, "identity", "DELETE", "/v1/sessions/current", token=access_token)


async def forgot_password(request: web.Request, email: str) -> None:
    await raw_call(request, "identity", "POST", "/v1/password-resets", json={"email": email})


async def reset_password(request: web.Request, token: str, password: str) -> None:
    await raw_call(request, "identity", "POST", "/v1/password-resets/confirm",
                   json={"token": token, "password": password})


async def accept_invitation(request: web.Request, token: str, password: str) -> None:
    await raw_call(request, "identity", "POST", "/v1/invitations/accept",
                   json={"token": token, "password": password})


# -- student --------------------------------------------------------------------------------------

async def redeem_code(request: web.Request, code: str) -> dict:
    return await send_json(request, "identity", "POST", "/v1/activation-codes/redeem", {"code": code})


async def me(request: web.Request) -> dict:
    return await get_json(request, "identity", "/v1/me")


async def my_data(request: web.Request) -> dict:
    """Everything identity holds about the signed-in student (the BSN masked)."""
    return await get_json(request, "identity", "/v1/me/data")


# -- catalogue ------------------------------------------------------------------------------------

async def institutions(request: web.Request) -> list[dict]:
    reply = await raw_call(request, "identity", "GET", "/v1/institutions")  # public
    return reply.json().get("institutions", [])


# -- staff: codes, classes, students --------------------------------------------------------------

async def classes(request: web.Request) -> list[dict]:
    return (await get_json(request, "identity", "/v1/classes")).get("classes", [])


async def issue_codes(request: web.Request, body: dict[str, Any], idempotency_key: str) -> dict:
    return await send_json(request, "identity", "POST", "/v1/activation-codes", body,
                           headers={"Idempotency-Key": idempotency_key})


async def search_students(request: web.Request, *, q: str, class_id: str | None, page: int, page_size: int) -> dict:
    """One page of the roster with each student's activation-code status; the search goes in a body,
    so that no name ends up in a URL."""
    body = {"q": q, "class_id": class_id, "page": page, "page_size": page_size}
    return await send_json(request, "identity", "POST", "/v1/students/search", body)


# -- school admin ---------------------------------------------------------------------------------

async def import_roster(request: web.Request, content: bytes, filename: str) -> dict:
    """A valid file becomes an import job (its state, rows_total, rows_done); a bad one an ApiError 422."""
    reply = await call(request, "identity", "POST", "/v1/roster/imports", data=content,
                       headers={"Content-Type": "text/csv"})
    return reply.json() or {}


async def roster_import(request: web.Request, import_id: str) -> dict:
    return await get_json(request, "identity", f"/v1/roster/imports/{import_id}")


async def preview_roster(request: web.Request, content: bytes) -> dict:
    """A valid file is checked and kept as a preview of what it changes (state preview, nothing changed
    yet); a bad one an ApiError 422."""
    reply = await call(request, "identity", "POST", "/v1/roster/imports", data=content, params={"preview": "true"},
                       headers={"Content-Type": "text/csv"})
    return reply.json() or {}


async def confirm_roster(request: web.Request, import_id: str, leavers: list[str]) -> dict:
    """The preview is read in; ``leavers``: students not in the file who left the school."""
    return await send_json(request, "identity", "POST", f"/v1/roster/imports/{import_id}/confirm",
                           {"leavers": leavers})


async def drop_roster_preview(request: web.Request, import_id: str) -> None:
    await call(request, "identity", "DELETE", f"/v1/roster/imports/{import_id}")


async def school_year_plan(request: web.Request, body: dict[str, Any]) -> dict:
    """What a new school year would do (nothing changes)."""
    return await send_json(request, "identity", "POST", "/v1/school-year/preview", body)


async def start_school_year(request: web.Request, body: dict[str, Any]) -> dict:
    return await send_json(request, "identity", "POST", "/v1/school-year", body)


async def staff(request: web.Request) -> list[dict]:
    return (await get_json(request, "identity", "/v1/staff")).get("staff", [])


async def search_staff(request: web.Request, *, q: str, page: int, page_size: int) -> dict:
    """One page of the school's staff (the search in a body)."""
    return await send_json(request, "identity", "POST", "/v1/staff/search",
                           {"q": q, "page": page, "page_size": page_size})


async def add_staff(request: web.Request, body: dict[str, Any]) -> dict:
    return await send_json(request, "identity", "POST", "/v1/staff", body)


async def set_class_mentors(request: web.Request, class_id: str, staff_ids: list[str]) -> dict:
    return await send_json(request, "identity", "PUT", f"/v1/classes/{class_id}/mentors",
                           {"staff_ids": staff_ids})


async def set_staff_active(request: web.Request, staff_id: str, active: bool) -> dict:
    """Deactivate (every session ends, class links go) or reactivate a member of staff."""
    return await send_json(request, "identity", "PATCH", f"/v1/staff/{staff_id}", {"active": active})


async def invite_staff(request: web.Request, staff_id: str) -> dict:
    return await send_json(request, "identity", "POST", f"/v1/staff/{staff_id}/invitation", {})


# -- schools and institutions (the platform administrator; a school admin: the own school) ---------

async def search_schools(request: web.Request, *, q: str, kind: str | None, page: int, page_size: int) -> dict:
    params = {k: v for k, v in {"q": q, "kind": kind, "page": page, "page_size": page_size}.items() if v}
    return await get_json(request, "identity", "/v1/schools", params=params)


async def school(request: web.Request, school_id: str) -> dict:
    return await get_json(request, "identity", f"/v1/schools/{school_id}")


async def create_school(request: web.Request, body: dict[str, Any]) -> dict:
    return await send_json(request, "identity", "POST", "/v1/schools", body)


async def change_school(request: web.Request, school_id: str, body: dict[str, Any]) -> dict:
    return await send_json(request, "identity", "PATCH", f"/v1/schools/{school_id}", body)


async def add_location(request: web.Request, school_id: str, body: dict[str, Any]) -> dict:
    return await send_json(request, "identity", "POST", f"/v1/schools/{school_id}/locations", body)


async def add_programme(request: web.Request, school_id: str, body: dict[str, Any]) -> dict:
    return await send_json(request, "identity", "POST", f"/v1/schools/{school_id}/programmes", body)


async def change_programme(request: web.Request, programme_id: str, body: dict[str, Any]) -> dict:
    return await send_json(request, "identity", "PATCH", f"/v1/programmes/{programme_id}", body)


async def change_password(request: web.Request, current_password: str, new_password: str) -> dict:
    return await send_json(request, "identity", "POST", "/v1/me/password",
                           {"current_password": current_password, "new_password": new_password})


async def set_preferences(request: web.Request, daily_digest: bool) -> dict:
    """MBO staff: the daily digest mail on or off (stored by identity, told to notification)."""
    return await send_json(request, "identity", "PUT", "/v1/me/preferences", {"daily_digest": daily_digest})


# -- machine clients (the platform administrator; issue 12) ----------------------------------------

async def clients(request: web.Request) -> list[dict]:
    return (await get_json(request, "identity", "/v1/clients"))["clients"]


async def client_log(request: web.Request, client_id: str) -> dict:
    return await get_json(request, "identity", f"/v1/clients/{client_id}/log")


async def register_client(request: web.Request, body: dict[str, Any]) -> dict:
    return await send_json(request, "identity", "POST", "/v1/clients", body)


async def rotate_client(request: web.Request, client_id: str, body: dict[str, Any]) -> dict:
    return await send_json(request, "identity", "POST", f"/v1/clients/{client_id}/rotate", body)


async def revoke_client(request: web.Request, client_id: str) -> dict:
    return await send_json(request, "identity", "POST", f"/v1/clients/{client_id}/revoke")
