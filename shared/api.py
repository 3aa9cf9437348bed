"""HTTP API building blocks: routes that document themselves (OpenAPI 3.1), and the one input layer
every service reads its requests through.

The input layer (``read_body``, ``read_query``) turns whatever a client sends into a validated
pydantic model or a Dutch problem, before anything reaches PostgreSQL:

- JSON bodies: ``application/json`` only (415), at most the app's ``client_max_size`` (413), valid
  UTF-8 JSON without NaN or Infinity (400), nested at most ``MAX_JSON_DEPTH`` levels (400; deeper
  input is refused by the parser's own guard or by an iterative count, never a RecursionError), an
  object (422). Every string in it, at any depth, is checked for control characters (line breaks
  and tabs excepted) and lone surrogates: a NUL can never reach the database, also not inside a
  free-form object. Then the model: ``SingleLine`` / ``MultiLine`` text, bounded strict integers,
  and ``null`` only where a field allows it (``omittable`` declares a field that may be left out
  but not sent as null).
- Query parameters: a ``Query`` model per route; every value one clean line, integers only as
  digits (``QueryInt``: no ``1.0``, ``1_0`` or `` 1``) and within the field's bounds, booleans as
  true/false (``QueryBool``). An empty value counts as absent.

The route decorator documents what the route takes and every status it can answer: those that
follow from what it declares (a body: 413, 415, 422; a query: 422; a path parameter: 404;
``auth``: 401, 403; ``if_match``: 412, 428) and the ones its handler raises itself
(``statuses=(409, 410, ...)``). Every route can answer 400 (a body that is no JSON; a request line
or header over 8 KB, which the HTTP server refuses as text/plain before any handler) and 503 (the
database away)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Awaitable, Callable, TypeVar

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from shared.problems import PROBLEM_TYPE, TITLES, Problem, invalid_input, validation_problem
from shared.text import SINGLE_LINE_PATTERN, json_text_problems, single_line_problem

M = TypeVar("M", bound=BaseModel)
HandlerT = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_JSON_DEPTH = 32
INT32_MAX = 2_147_483_647


# --------------------------------------------------------------------------- models


class Body(BaseModel):
    """A request body: unknown fields are refused (a typo is never silently ignored)."""
    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    """A route's query parameters; unknown ones are ignored (a cache buster harms nothing)."""
    model_config = ConfigDict(extra="ignore")


def _without_null_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**constraints: Any) -> Any:
    """A field that may be left out (its value is None then: nothing changes) but never sent as
    ``null``: declare it with a type that does not allow None, e.g.
    ``name: SingleLine = omittable(max_length=200)``. The document shows it as not nullable."""
    return Field(None, json_schema_extra=_without_null_default, **constraints)


_DIGITS = re.compile(r"-?[0-9]{1,20}")
_TRUE, _FALSE = ("true", "1", "ja"), ("false", "0", "nee")


def _query_int(value: object) -> object:
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise PydanticCustomError("int_parsing", "only digits")
    return value


def _query_bool(value: object) -> object:
    if isinstance(value, str):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise PydanticCustomError("bool_parsing", "true or false")
    return value


QueryInt = Annotated[int, BeforeValidator(_query_int)]
QueryBool = Annotated[bool, BeforeValidator(_query_bool)]


# --------------------------------------------------------------------------- reading requests


def json_depth(data: Any) -> int:
    """How deep ``data`` (parsed JSON) is nested: 0 for a scalar, 1 for ``{}``. Iterative."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children if isinstance(child, (dict, list)))
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is geen JSON-getal")


TOO_DEEP = (f"De JSON is te diep genest: meer dan {MAX_JSON_DEPTH} niveaus van objecten en lijsten. "
            "Stuur de gegevens zoals de API-beschrijving (/openapi.json) ze vraagt.")


def parse_json(raw: bytes) -> Any:
    """Parsed JSON, or a 400 problem: not UTF-8, not JSON (NaN and Infinity are no JSON), or nested
    deeper than ``MAX_JSON_DEPTH`` (very deep input stops at the parser's recursion guard)."""
    try:
        data = json.loads(raw.decode("utf-8") if raw else "null", parse_constant=_refuse_constant)
    except RecursionError:
        raise Problem(400, TOO_DEEP, code="json-too-deep") from None
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "De inhoud is geen geldige JSON (in UTF-8).", code="invalid-json") from None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise Problem(400, TOO_DEEP, code="json-too-deep")
    return data


async def read_body(request: web.Request, model: type[M]) -> M:
    """Parse and validate a JSON body; every failure is a Dutch problem and changes nothing."""
    if request.content_type != "application/json":
        raise Problem(415, "Stuur de gegevens als JSON (Content-Type: application/json).")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Problem(413, "Het verzoek is te groot.") from None
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise Problem(422, "Verwacht een JSON-object.", code="invalid-input")
    text = [{"field": path, "message": message} for path, message in json_text_problems(data)]
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        problem = validation_problem(exc)
        seen = {e["field"] for e in problem.errors or []}
        problem.errors = (problem.errors or []) + [e for e in text if e["field"] not in seen]
        raise problem from None
    if text:  # a string that no model field checks (a field of a free-form object)
        raise invalid_input(text)
    return body


def read_query(request: web.Request, model: type[M]) -> M:
    """The query parameters as ``model``; 422 with a Dutch message per wrong parameter. Every value
    must be one line without control characters; an empty value counts as absent."""
    data: dict[str, str] = {}
    errors: list[dict[str, str]] = []
    for key in request.query.keys():
        if key in data:
            continue  # a repeated parameter: the first one counts
        value = request.query.get(key, "")
        if (problem := single_line_problem(key)) is not None:
            errors.append({"field": "(naam van een parameter)", "message": problem})
        elif (problem := single_line_problem(value)) is not None:
            errors.append({"field": key, "message": problem})
        elif value != "":
            data[key] = value
    if errors:
        raise invalid_input(errors)
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


# --------------------------------------------------------------------------- documentation


@dataclass(frozen=True)
class Header:
    """A request header a route reads."""
    name: str
    description: str
    required: bool = False
    max_length: int = 200


IF_MATCH = Header("If-Match", "de versie die je las (de ETag van het antwoord), bijvoorbeeld \"3\"; "
                              "zonder: 428, een andere versie: 412", required=True, max_length=100)


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
    query: type[BaseModel] | None = None
    statuses: tuple[int, ...] = ()
    headers: tuple[Header, ...] = ()
    produces: str | None = None       # the success answer's media type when it is not JSON
    consumes: str | None = None       # a body that is not JSON (a CSV file), read by the handler
    description: str | None = None
    error_content: dict[int, dict] | None = None  # statuses answered otherwise than as problem+json (OAuth)
    extra_schemas: tuple[type[BaseModel], ...] = ()

    def answers(self) -> list[int]:
        """Every status the route can answer: its success, what follows from its declaration, and
        the statuses its handler raises."""
        codes = {self.status, 400, 503, *self.statuses}
        if self.body is not None:
            codes |= {400, 413, 415, 422}
        if self.consumes is not None:
            codes |= {413, 415}
        if self.query is not None:
            codes.add(422)
        if "{" in self.path:
            codes.add(404)
        if self.auth:
            codes |= {401, 403}
        if any(h.name == "If-Match" for h in self.headers):
            codes |= {412, 428}
        return sorted(codes)


PROBLEM_SCHEMA = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "description": "RFC 9457 problem details; detail is Dutch and says what to do",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"}, "code": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "required": ["message"], "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}, "line": {"type": "integer"}}}}}}

BAD_REQUEST = {"description": "Ongeldig verzoek: geen geldige JSON, of een URL of header van meer dan 8 KB "
                              "(die weigert de HTTP-server zelf, als text/plain)",
               "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}},
                           "text/plain": {"schema": {"type": "string"}}}}

_INFRA = [  # served by shared.app for every service
    ("/healthz", "Leeft de dienst?", {200}),
    ("/readyz", "Is de dienst klaar: database en broker bereikbaar? (503 noemt wat er ontbreekt)", {200, 503}),
    ("/openapi.json", "Deze API-beschrijving (OpenAPI 3.1)", {200}),
    ("/metrics", "Meetwaarden voor Prometheus (tekstformaat); zonder inloggen, alleen voor het interne netwerk",
     {200}),
]
_INFRA_MEDIA = {"/metrics": ("text/plain", {"type": "string"})}  # the others answer JSON


@dataclass
class Api:
    """Collects operations as routes are added; renders the OpenAPI 3.1 document."""

    title: str
    version: str = "1.0.0"
    operations: list[Operation] = field(default_factory=list)
    routes: list[web.RouteDef] = field(default_factory=list)

    def route(self, method: str, path: str, *, summary: str, body: type[BaseModel] | None = None,
              response: type[BaseModel] | None = None, status: int = 200, tags: tuple[str, ...] = (),
              auth: bool = False, query: type[BaseModel] | None = None, statuses: tuple[int, ...] = (),
              headers: tuple[Header, ...] = (), if_match: bool = False, produces: str | None = None,
              consumes: str | None = None, description: str | None = None,
              error_content: dict[int, dict] | None = None,
              extra_schemas: tuple[type[BaseModel], ...] = ()) -> Callable[[HandlerT], HandlerT]:
        """Register a handler and document it. ``statuses``: the error statuses the handler raises
        beyond those its declaration implies (see ``Operation.answers``). ``body`` with ``consumes``:
        a body of that media type (a form) whose fields the model describes. ``error_content``: the
        response of a status that is not problem+json (an OAuth error), with ``extra_schemas`` the
        models it refers to."""
        if if_match:
            headers = (IF_MATCH, *headers)

        def register(handler: HandlerT) -> HandlerT:
            self.operations.append(Operation(method.upper(), path, summary, body, response, status, tags, auth,
                                             query, tuple(statuses), tuple(headers), produces, consumes,
                                             description, error_content, tuple(extra_schemas)))
            self.routes.append(web.route(method.upper(), path, handler))
            return handler
        return register

    def document(self, settings: Any = None) -> dict:
        """The OpenAPI 3.1 document. ``settings``: the running service's, for the limits that are
        settings (``json_schema_extra={"x-maximum-setting": "page_size_max"}``: the document says the
        configured maximum)."""
        paths: dict[str, dict] = {}
        schemas: dict[str, Any] = {}

        def model_schema(model: type[BaseModel]) -> dict:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            return schema

        def ref(model: type[BaseModel]) -> dict:
            schemas[model.__name__] = model_schema(model)
            return {"$ref": f"#/components/schemas/{model.__name__}"}

        problem = {"content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for op in self.operations:
            operation_id = op.method.lower() + "_" + re.sub(r"[^a-z0-9]+", "_", op.path.lower()).strip("_")
            entry: dict[str, Any] = {"summary": op.summary, "tags": list(op.tags), "operationId": operation_id,
                                     "responses": {}}
            if op.description:
                entry["description"] = op.description
            parameters = [{"name": p.strip("{}"), "in": "path", "required": True,
                           "schema": {"type": "string", "maxLength": 100}}
                          for p in op.path.split("/") if p.startswith("{")]
            if op.query is not None:
                schema = model_schema(op.query)
                required = set(schema.get("required", []))
                for name, prop in schema.get("properties", {}).items():
                    param = {"name": name, "in": "query", "required": name in required,
                             "schema": _query_schema(prop)}
                    if "description" in prop:
                        param["description"] = prop["description"]
                    parameters.append(param)
            for header in op.headers:
                parameters.append({"name": header.name, "in": "header", "required": header.required,
                                   "description": header.description,
                                   "schema": {"type": "string", "maxLength": header.max_length}})
            if parameters:
                entry["parameters"] = parameters
            if op.body is not None:
                entry["requestBody"] = {"required": True, "content": {op.consumes or "application/json": {
                    "schema": ref(op.body)}}}
            elif op.consumes is not None:
                entry["requestBody"] = {"required": True, "content": {op.consumes: {"schema": {"type": "string"}}}}
            ok: dict[str, Any] = {"description": "OK"}
            if op.produces is not None:
                ok["content"] = {op.produces: {"schema": {"type": "string", "format": "binary"}}}
            elif op.response is not None:
                ok["content"] = {"application/json": {"schema": ref(op.response)}}
            elif op.status != 204:
                ok["content"] = {"application/json": {"schema": {"type": "object"}}}
            for model in op.extra_schemas:
                ref(model)
            for code in op.answers():
                if op.error_content and code in op.error_content:
                    entry["responses"][str(code)] = op.error_content[code]
                elif code == op.status:
                    entry["responses"][str(code)] = ok
                elif code == 400:
                    entry["responses"]["400"] = BAD_REQUEST
                else:
                    entry["responses"][str(code)] = {"description": TITLES.get(code, "Fout"), **problem}
            if op.auth:
                entry["security"] = [{"bearer": []}]
            paths.setdefault(op.path, {})[op.method.lower()] = entry
        for path, summary, codes in _INFRA:
            media, body_schema = _INFRA_MEDIA.get(path, ("application/json", {"type": "object"}))
            responses = {str(c): ({"description": "OK", "content": {media: {"schema": body_schema}}}
                                  if c == 200 else {"description": TITLES[c], **problem}) for c in sorted(codes)}
            responses["400"] = BAD_REQUEST
            paths.setdefault(path, {})["get"] = {"summary": summary, "tags": ["beheer"], "responses": responses,
                                                 "operationId": "get_" + path.strip("/").replace(".", "_")}
        schemas["Problem"] = PROBLEM_SCHEMA
        doc = {"openapi": "3.1.0", "info": {"title": self.title, "version": self.version},
               "paths": paths, "components": {"schemas": schemas, "securitySchemes": {
                   "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}}}
        _json_schema_keywords(doc)
        _apply_settings(doc, settings)
        return doc


def _query_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is there or not: no null branch, no null default, no title."""
    prop = {k: v for k, v in prop.items() if k != "title" and not (k == "default" and v is None)}
    branches = [b for b in prop.pop("anyOf", []) if b != {"type": "null"}]
    if len(branches) == 1:
        prop = {**branches[0], **prop}
    elif branches:
        prop["anyOf"] = branches
    if prop.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(prop):
        prop["pattern"] = SINGLE_LINE_PATTERN  # read_query refuses control characters in every value
    return prop


_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _json_schema_keywords(doc: Any) -> None:
    """pydantic writes the bounds of an integer with a validator of its own (``QueryInt``) as
    ge/le: the JSON Schema keywords are minimum/maximum."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") in ("integer", "number"):
                for short, keyword in _BOUNDS.items():
                    if short in node:
                        node[keyword] = node.pop(short)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _apply_settings(doc: Any, settings: Any) -> None:
    """Replace each ``x-maximum-setting`` marker by the ``maximum`` the settings hold (iterative)."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            name = node.pop("x-maximum-setting", None)
            if name is not None and settings is not None and hasattr(settings, name):
                node["maximum"] = min(node.get("maximum", INT32_MAX), getattr(settings, name))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
