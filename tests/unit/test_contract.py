"""The published contract (docs/asyncapi.json) is generated from the event registry and kept in step;
it says what the wire carries (the CloudEvents AMQP binding, structured content mode), validates
what is produced and refuses what is invalid, and tells a subscriber where to read each event's
details and which fields carry personal data."""
from __future__ import annotations

import copy
import json
import re
import typing
import uuid

import pytest
from cloudevents.core.bindings import amqp as ce_amqp
from cloudevents.core.formats.json import JSONFormat
from pydantic import BaseModel

from shared.events import asyncapi
from shared.events.catalog import DETAILS, PERSONAL_DATA
from shared.events.envelope import (
    CONTENT_TYPE,
    Envelope,
    WireFormatError,
    envelope_schema,
    parse_wire,
    wire_body,
)
from shared.events.registry import Fetch, NothingToFetch, all_event_types, lookup
from tests.support.contract import (
    envelope_validator,
    errors,
    message_validator,
    published,
)
from tests.support.event_samples import sample_envelope


def test_committed_contract_matches_the_code():
    committed = asyncapi.CONTRACT_PATH.read_text(encoding="utf-8")
    assert committed == asyncapi.render(), (
        "docs/asyncapi.json is out of date: run `python -m shared.events.asyncapi` and commit it")


def test_every_event_type_is_in_the_contract_with_its_payload_schema():
    doc = json.loads(asyncapi.render())
    assert doc["asyncapi"].startswith("3.")
    addresses = {c["address"] for k, c in doc["channels"].items() if k != "archive"}
    names = {e.name for e in all_event_types()}
    assert names and addresses == names
    for et in all_event_types():
        key = et.name.replace(".", "_")
        assert doc["components"]["schemas"][f"{key}_data"]["title"] == et.payload.__name__
        assert doc["components"]["messages"][key]["x-producer"] == et.producer


def test_no_event_payload_carries_a_bsn():
    for et in all_event_types():
        fields = {f.lower() for f in et.payload.model_fields}
        assert not any("bsn" in f for f in fields), f"{et.name} must not carry a BSN"


def test_envelope_round_trip_uses_cloudevents_names():
    et = lookup("identity.verification_requested")
    env = Envelope(source="/doorstroom/identity", type=et.name, data={"x": 1})
    dumped = json.loads(env.model_dump_json())
    assert {"specversion", "id", "source", "type", "time", "subject", "data", "dataversion"} <= set(dumped)
    assert Envelope.model_validate_json(env.model_dump_json()) == env


def test_the_archive_channel_carries_every_event_type():
    doc = json.loads(asyncapi.render())
    archive = doc["channels"]["archive"]
    assert archive["address"] == "doorstroom.events.archive"
    assert archive["bindings"]["amqp"]["is"] == "queue"
    assert set(archive["messages"]) == {e.name.replace(".", "_") for e in all_event_types()}
    assert "x-stream-offset" in archive["description"]


# --------------------------------------------------------------------------- the wire and the document

def test_the_document_declares_the_content_type_of_the_structured_mode_that_the_wire_carries():
    doc = published()
    assert CONTENT_TYPE == "application/cloudevents+json; charset=utf-8"
    assert doc["defaultContentType"] == CONTENT_TYPE
    assert {m["contentType"] for m in doc["components"]["messages"].values()} == {CONTENT_TYPE}
    assert "structured content mode" in doc["info"]["description"]


def test_the_envelope_schema_requires_what_cloudevents_requires():
    schema = published()["components"]["schemas"]["Envelope"]
    assert {"specversion", "id", "source", "type"} <= set(schema["required"])
    assert {"time", "dataversion", "data"} <= set(schema["required"]), "what Doorstroom always sends"
    assert schema["properties"]["specversion"]["const"] == "1.0"
    assert schema == json.loads(json.dumps(envelope_schema()))


@pytest.mark.parametrize("et", all_event_types(), ids=lambda et: et.name)
def test_every_event_type_as_produced_validates_against_the_document_and_decodes_as_a_cloudevent(et):
    env = sample_envelope(et, requestid=uuid.uuid4().hex).model_copy(update={"subject": None})  # one without
    body = wire_body(env.model_dump(mode="json"))
    wire = json.loads(body)
    assert errors(message_validator(et.name), wire) == []
    assert errors(envelope_validator(), wire) == []
    # an outside library reads it as the binding says (structured mode, chosen by the content-type)
    event = ce_amqp.from_amqp(ce_amqp.AMQPMessage({"content-type": CONTENT_TYPE}, {}, body), JSONFormat())
    assert (event.get_id(), event.get_type(), event.get_source()) == (str(env.id), et.name, env.source)
    assert event.get_extension("dataversion") == et.version and event.get_data() == wire["data"]


def _valid() -> dict:
    et = lookup("dossier.completed")
    return sample_envelope(et, requestid="req-1").wire()


def _without(key):
    def change(e):
        del e[key]
    return change


def _set(key, value):
    def change(e):
        e[key] = value
    return change


def _set_data(key, value):
    def change(e):
        e["data"][key] = value
    return change


INVALID = {
    "no specversion": _without("specversion"),
    "no id": _without("id"),
    "no source": _without("source"),
    "no type": _without("type"),
    "no time": _without("time"),
    "no dataversion": _without("dataversion"),
    "no data": _without("data"),
    "specversion 0.3": _set("specversion", "0.3"),
    "empty id": _set("id", ""),
    "empty source": _set("source", ""),
    "id not a string": _set("id", 42),
    "time not a timestamp": _set("time", "gisteren"),
    "empty subject": _set("subject", ""),
    "another type's data": _set("type", "dossier.handled"),
    "a dataversion that does not exist": _set("dataversion", 2),
    "another producer": _set("source", "/doorstroom/identity"),
    "an attribute name CloudEvents forbids": _set("Subject", "x"),
    "binary data instead of JSON": _set("data_base64", "eyJ9"),
    "data missing a required field": lambda e: e["data"].pop("institution_id"),
    "data with a wrongly typed field": _set_data("warm_handover", "ja"),
    "data not an object": _set("data", "tekst"),
}


def test_an_invalid_message_does_not_validate():
    message = _valid()
    validator = message_validator("dossier.completed")
    assert errors(validator, message) == []
    validated = []
    for name, change in INVALID.items():
        broken = copy.deepcopy(message)
        change(broken)
        if not errors(validator, broken):
            validated.append(name)
    assert validated == [], f"these invalid messages validate: {validated}"


def test_the_envelope_alone_refuses_what_cloudevents_refuses():
    validator = envelope_validator()
    base = _valid()
    assert errors(validator, base) == []
    for key in ("specversion", "id", "source", "type"):
        broken = dict(base)
        del broken[key]
        assert errors(validator, broken), f"without {key}"
    assert errors(validator, {**base, "specversion": "0.3"})
    # older archived messages: "subject": null is CloudEvents' unset
    assert errors(validator, {**base, "subject": None}) == []


def test_the_wire_leaves_unset_attributes_out_also_for_rows_written_before():
    legacy = {**_valid(), "subject": None, "requestid": None}
    wire = json.loads(wire_body(legacy))
    assert "subject" not in wire and "requestid" not in wire
    assert wire["data"] == legacy["data"]
    assert errors(message_validator("dossier.completed"), wire) == []


def test_consumers_read_the_structured_mode_and_the_legacy_application_json():
    body = wire_body(_valid())
    legacy = json.dumps({**_valid(), "subject": None}).encode()
    for content_type, b in [(CONTENT_TYPE, body), ("application/cloudevents+json", body),
                            ("Application/CloudEvents+JSON; charset=UTF-8", body), ("application/json", legacy),
                            (None, legacy)]:
        assert parse_wire(b, content_type).type == "dossier.completed"
    with pytest.raises(WireFormatError):
        parse_wire(body, "application/cloudevents+avro")
    with pytest.raises(WireFormatError):
        parse_wire(body, "text/plain")
    with pytest.raises(WireFormatError):
        parse_wire(b"not json", CONTENT_TYPE)


# --------------------------------------------------------------------------- what a subscriber can act on

def _openapi_operations() -> dict[str, set[tuple[str, str]]]:
    import services.document.app
    import services.dossier.app
    import services.identity.app
    import services.notification.app  # noqa: F401  (each app registers its routes)
    from services.document.api import api as document
    from services.dossier.routes.common import api as dossier
    from services.identity.context import api as identity
    from services.notification.routes.common import api as notification

    ops = {}
    for name, api in {"identity": identity, "dossier": dossier, "document": document,
                      "notification": notification}.items():
        doc = api.document()
        ops[name] = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    return ops


def test_every_event_names_the_call_that_fetches_its_details_and_that_call_exists():
    ops = _openapi_operations()
    doc = published()
    for et in all_event_types():
        assert et.name in DETAILS, f"{et.name}: say in shared/events/catalog.py DETAILS where its details are read"
        details = DETAILS[et.name]
        fetch = doc["components"]["messages"][et.name.replace(".", "_")]["x-fetch"]
        if isinstance(details, NothingToFetch):
            assert details.reason and fetch == {"operation": None, "reason": details.reason}
            continue
        assert isinstance(details, Fetch)
        assert (details.method, details.path) in ops[details.service], \
            f"{et.name}: {details.operation} is no route of the {details.service} service"
        fields = set(et.payload.model_fields)
        for name in [*details.path_parameters, *details.query]:
            assert name in fields, f"{et.name}: {{{name}}} of {details.operation} is not a field of data"
            assert fetch.get("parameters", {}).get(name, fetch.get("query", {}).get(name)) == \
                f"$message.payload#/data/{name}"
        assert fetch["operation"] == details.operation and fetch["who"]
        assert details.operation.split(" ", 1)[1] in doc["components"]["messages"][
            et.name.replace(".", "_")]["description"]
    assert set(DETAILS) == {et.name for et in all_event_types()}, "entries for event types that do not exist"


def test_the_dossier_events_name_the_dossier_and_where_it_is_read():
    for et in all_event_types():
        if et.name.startswith("dossier.") and "dossier_id" in et.payload.model_fields:
            details = DETAILS[et.name]
            assert isinstance(details, NothingToFetch) or details.path.startswith("/v1/dossiers/{dossier_id}"), et.name
    assert DETAILS["dossier.completed"].path == "/v1/dossiers/{dossier_id}"
    assert DETAILS["dossier.handled"].path == "/v1/dossiers/{dossier_id}"


PERSONAL_NAME = re.compile(r"(^|_)(email|name|roepnaam|voornamen|tussenvoegsel|achternaam|date_of_birth|"
                           r"student_number|phone|telefoon|address|recipients|parents|relation)$")
# the names of schools, classes and programmes, and the models about them, are no personal data
NOT_A_PERSON = re.compile(r"^(school|institution|class|choice|programme|location)_name$")
NOT_ABOUT_PEOPLE = {"SchoolChanged", "Location", "Programme", "CompletedSchool", "CompletedProgramme"}


def _fields(model, prefix=""):
    """Every field path of a payload model: ``a``, ``a.b`` for a nested model, ``a[].b`` for a list."""
    for name, f in model.model_fields.items():
        path = f"{prefix}{name}"
        yield model, name, path
        stack = [f.annotation]
        while stack:
            t = stack.pop()
            args = typing.get_args(t)
            if isinstance(t, type) and issubclass(t, BaseModel):
                yield from _fields(t, path + ("[]." if typing.get_origin(f.annotation) is list else "."))
            elif typing.get_origin(t) is list:
                inner = args[0]
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    yield from _fields(inner, path + "[].")
            else:
                stack.extend(args)


def test_the_contract_names_every_field_with_personal_data():
    doc = published()
    for et in all_event_types():
        assert et.name in PERSONAL_DATA, f"{et.name}: list its personal data in shared/events/catalog.py"
        declared = PERSONAL_DATA[et.name]
        paths = {p for _, _, p in _fields(et.payload)}
        for d in declared:
            assert d in paths, f"{et.name}: {d} is no field of data"
        for model, name, path in _fields(et.payload):
            if model.__name__ in NOT_ABOUT_PEOPLE or NOT_A_PERSON.match(name) or not PERSONAL_NAME.search(name):
                continue
            assert any(path == d or path.startswith((d + ".", d + "[]")) for d in declared), \
                f"{et.name}: {path} looks like personal data the contract does not name"
        message = doc["components"]["messages"][et.name.replace(".", "_")]
        assert message["x-personal-data"] == list(declared)
    assert set(PERSONAL_DATA) == {et.name for et in all_event_types()}
