"""HTTP API building blocks: routes that document themselves (OpenAPI) and typed bodies."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from shared.problems import PROBLEM_TYPE, Problem, validation_problem

M = TypeVar("M", bound=BaseModel)
HandlerT = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def read_body(request: web.Request, model: type[M]) -> M:
    """Parse and validate a JSON body; every failure is a Dutch problem and changes nothing."""
    if request.content_type != "application/json":
        raise Problem(415, "Stuur de gegevens als JSON (Content-Type: application/json).")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Problem(413, "Het verzoek is te groot.") from None
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "De inhoud is geen geldige JSON.", code="invalid-json") from None
    if not isinstance(data, dict):
        raise Problem(422, "Verwacht een JSON-object.", code="invalid-input")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    if isinstance(data, BaseModel):
        text = data.model_dump_json()
    else:
        text = json.dumps(data, default=str, ensure_ascii=False)
    return web.Response(text=text, status=status, content_type="application/json", headers=headers)


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    tags: tuple[str, ...]
    auth: bool


@dataclass
class Api:
    """Collects operations as routes are added; renders the OpenAPI 3.1 document."""

    title: str
    version: str = "1.0.0"
    operations: list[Operation] = field(default_factory=list)
    routes: list[web.RouteDef] = field(default_factory=list)

    def route(self, method: str, path: str, *, summary: str, body: type[BaseModel] | None = None,
              response: type[BaseModel] | None = None, status: int = 200, tags: tuple[str, ...] = (),
              auth: bool = False) -> Callable[[HandlerT], HandlerT]:
        def register(handler: HandlerT) -> HandlerT:
            self.operations.append(Operation(method.upper(), path, summary, body, response, status, tags, auth))
            self.routes.append(web.route(method.upper(), path, handler))
            return handler
        return register

    def document(self) -> dict:
        paths: dict[str, dict] = {}
        schemas: dict[str, Any] = {}

        def ref(model: type[BaseModel]) -> dict:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
            return {"$ref": f"#/components/schemas/{model.__name__}"}

        problem = {"content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for op in self.operations:
            entry: dict[str, Any] = {"summary": op.summary, "tags": list(op.tags),
                                     "operationId": f"{op.method.lower()}_{op.path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
                                     "responses": {}}
            params = [p.strip("{}") for p in op.path.split("/") if p.startswith("{")]
            if params:
                entry["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                       for p in params]
            if op.body is not None:
                entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
                entry["responses"]["422"] = {"description": "Ongeldige invoer", **problem}
            ok: dict[str, Any] = {"description": "OK"}
            if op.response is not None:
                ok["content"] = {"application/json": {"schema": ref(op.response)}}
            entry["responses"][str(op.status)] = ok
            if op.auth:
                entry["security"] = [{"bearer": []}]
                entry["responses"]["401"] = {"description": "Niet ingelogd", **problem}
                entry["responses"]["403"] = {"description": "Geen toegang", **problem}
            paths.setdefault(op.path, {})[op.method.lower()] = entry
        schemas["Problem"] = {"type": "object", "required": ["title", "status", "detail"], "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}, "code": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object", "properties": {
                "field": {"type": "string"}, "message": {"type": "string"}}}}}}
        return {"openapi": "3.1.0", "info": {"title": self.title, "version": self.version},
                "paths": paths, "components": {"schemas": schemas, "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}}}
