"""A STAND-IN for the dossier service's ``GET /v1/dossiers/{id}`` on loopback, serving the contract
the document service renders from (see tests/unit/document/sample_dossier.py), for as long as
the real dossier service does not serve that route (the tests also run against the real one when
it does).

It decides access the way the dossier service does in outline: a valid token is needed (401);
a student sees only their own dossier and not part B before it was sent; staff of the school see
the dossier (otherwise 403); an unknown id is 404. Each read is recorded with its purpose.
"""
from __future__ import annotations

import copy
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.auth import TokenVerifier
from shared.problems import Problem


@dataclass
class StoredDossier:
    body: dict[str, Any]
    student_id: uuid.UUID
    school_id: uuid.UUID
    part_b_sent: bool = True


@dataclass
class DossierStub:
    jwks_url: str
    dossiers: dict[uuid.UUID, StoredDossier] = field(default_factory=dict)
    reads: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def add(self, body: dict[str, Any], *, student_id: uuid.UUID, school_id: uuid.UUID,
            part_b_sent: bool = True) -> uuid.UUID:
        dossier_id = uuid.uuid4()
        self.dossiers[dossier_id] = StoredDossier({**copy.deepcopy(body), "id": str(dossier_id)}, student_id,
                                                  school_id, part_b_sent)
        return dossier_id

    def app(self) -> web.Application:
        verifier = TokenVerifier(self.jwks_url)

        async def read(request: web.Request) -> web.Response:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token:
                return web.json_response({"status": 401}, status=401)
            try:
                principal = await verifier.verify(token)
            except Problem as problem:
                return web.json_response({"status": problem.status}, status=problem.status)
            try:
                stored = self.dossiers.get(uuid.UUID(request.match_info["dossier_id"]))
            except ValueError:
                stored = None
            if stored is None:
                return web.json_response({"status": 404}, status=404)
            if principal.role == "student":
                allowed = principal.student_id == stored.student_id
            else:
                allowed = principal.role in ("mentor", "counsellor") and principal.school_id == stored.school_id
            if not allowed:
                return web.json_response({"status": 403}, status=403)
            self.reads.append({"dossier_id": stored.body["id"], "account_id": principal.account_id,
                               "purpose": request.query.get("purpose")})
            body = copy.deepcopy(stored.body)
            if principal.role == "student" and not stored.part_b_sent:
                body["part_b_student"] = body["part_b_dossier"] = None
            return web.json_response(body)

        app = web.Application()
        app.router.add_get("/v1/dossiers/{dossier_id}", read)
        return app


@asynccontextmanager
async def dossier_stub(jwks_url: str) -> AsyncIterator[DossierStub]:
    stub = DossierStub(jwks_url)
    server = TestServer(stub.app())
    await server.start_server()
    stub.url = str(server.make_url("")).rstrip("/")
    try:
        yield stub
    finally:
        await server.close()
