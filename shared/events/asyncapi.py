"""The published contract: an AsyncAPI 3 document generated from the event registry.

``python -m shared.events.asyncapi`` rewrites docs/asyncapi.json; a test keeps it in step.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from shared.bus import archive_queue
from shared.events.catalog import DETAILS, PERSONAL_DATA
from shared.events.envelope import CONTENT_TYPE, LEGACY_MEDIA_TYPE, envelope_schema
from shared.events.registry import EventType, Fetch, all_event_types
from shared.sealing import SEALED_DESCRIPTION

CONTRACT_PATH = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"


def _ref_safe(name: str) -> str:
    return name.replace(".", "_")


def _mark_sealed(schema: dict) -> None:
    """A sealed field (``shared.sealing.Sealed``) says so in its own description, also when it is
    optional (``anyOf`` with null) or has a description of its own."""
    for prop in schema.get("properties", {}).values():
        variants = prop.get("anyOf", [])
        if not (prop.get("x-sealed") or any(v.get("x-sealed") for v in variants)):
            continue
        for v in variants:
            v.pop("description", None)
        own = prop.get("description")
        prop["description"] = SEALED_DESCRIPTION if own in (None, SEALED_DESCRIPTION) \
            else f"{own.rstrip('.')}. {SEALED_DESCRIPTION}"
        prop["x-sealed"] = True


def fetch_of(et: EventType) -> dict:
    """``x-fetch`` of a message: the HTTP call that reads the details of the event, with each of its
    parameters as an AsyncAPI runtime expression into the message; or why there is none."""
    details = DETAILS.get(et.name)
    if details is None:
        return {"operation": None, "reason": "not documented yet"}
    if not isinstance(details, Fetch):
        return {"operation": None, "reason": details.reason}
    out = {"service": details.service, "operation": details.operation, "method": details.method,
           "path": details.path,
           "parameters": {name: f"$message.payload#/data/{name}" for name in details.path_parameters},
           "openapi": f"GET /openapi.json of the {details.service} service", "who": details.who}
    if details.query:
        out["query"] = {name: f"$message.payload#/data/{name}" for name in details.query}
    if details.note:
        out["note"] = details.note
    return out


def _description(et: EventType, fetch: dict) -> str:
    if fetch["operation"] is None:
        details = f"Nothing to fetch: {fetch['reason']}."
    else:
        query = "".join(f"{'?' if i == 0 else '&'}{q}={{{q}}}" for i, q in enumerate(fetch.get("query", {})))
        details = (f"Details: `{fetch['operation']}{query}` of the {fetch['service']} service, for "
                   f"{fetch['who']}.")
    personal = PERSONAL_DATA.get(et.name)
    if personal is None:
        data = "Personal data in data: not documented yet."
    elif personal:
        data = "Personal data in data: " + ", ".join(f"`{f}`" for f in personal) + "; no other field."
    else:
        data = "No personal data in data beyond pseudonymous ids."
    return f"{et.summary} {details} {data}"


def build_document(exchange: str = "doorstroom.events") -> dict:
    channels, operations, messages, schemas = {}, {}, {}, {}
    schemas["Envelope"] = envelope_schema()
    for et in all_event_types():
        key = _ref_safe(et.name)
        payload_schema = et.payload.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in payload_schema.pop("$defs", {}).items():
            _mark_sealed(sub)
            schemas[name] = sub
        _mark_sealed(payload_schema)
        schemas[f"{key}_data"] = payload_schema
        fetch = fetch_of(et)
        messages[key] = {
            "name": et.name,
            "title": et.payload.__name__,
            "summary": et.summary,
            "description": _description(et, fetch),
            "contentType": CONTENT_TYPE,
            "headers": {"type": "object", "properties": {
                "x-request-id": {"type": "string", "description": "equals the envelope's requestid, when set"}}},
            "payload": {"allOf": [
                {"$ref": "#/components/schemas/Envelope"},
                {"type": "object", "required": ["type", "dataversion", "data"], "properties": {
                    "type": {"const": et.name},
                    "source": {"const": f"/doorstroom/{et.producer}"},
                    "dataversion": {"const": et.version},
                    "data": {"$ref": f"#/components/schemas/{key}_data"}}}]},
            "bindings": {"amqp": {"messageType": et.name, "bindingVersion": "0.3.0"}},
            "x-producer": et.producer,
            "x-dataversion": et.version,
            "x-fetch": fetch,
            "x-personal-data": list(PERSONAL_DATA.get(et.name, ())),
        }
        channels[key] = {
            "address": et.name,
            "description": f"Routing key {et.name} on the topic exchange {exchange}.",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": {
                "name": exchange, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"},
                "bindingVersion": "0.3.0"}},
        }
        operations[f"on_{key}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": et.summary,
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        }
    archive = archive_queue(exchange)
    channels["archive"] = {
        "address": archive,
        "title": "The event archive",
        "description": (
            f"A RabbitMQ stream (`x-queue-type: stream`) named `{archive}`, bound with `#` to the exchange: "
            "every event of every type is kept in it, in the order it was published, for the retention the "
            "operator set (`EVENT_ARCHIVE_MAX_AGE`, default 30 days). A new subscriber catches up by reading "
            "it from a point in time with the consumer argument `x-stream-offset` (a timestamp, `first`, or an "
            "offset; basic.qos prefetch required, manual acknowledgement), then binds its own queue for what "
            "comes next and deduplicates on `id`. Reading never removes anything. Operators replay a time range "
            "into one consumer's queue with `python -m shared.archive replay --service NAME --since ...`."),
        "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in messages},
        "bindings": {"amqp": {"is": "queue", "queue": {
            "name": archive, "durable": True, "exclusive": False, "autoDelete": False, "vhost": "/"},
            "bindingVersion": "0.3.0"}},
    }
    operations["read_archive"] = {
        "action": "receive",
        "channel": {"$ref": "#/channels/archive"},
        "summary": "Read every event from a point in time (x-stream-offset).",
        "messages": [{"$ref": f"#/channels/archive/messages/{key}"} for key in sorted(messages)],
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Doorstroom domain events",
            "version": "1.0.0",
            "description": (
                "Events of the Digitaal Doorstroomdossier. Subscribe with your own durable queue bound "
                f"to the routing keys you need on the topic exchange `{exchange}`. Deduplicate on `id` (delivery "
                "is at least once). Every event is also kept in the archive stream (channel `archive`), so a "
                "subscriber can start from a point in time in the past.\n\n"
                "The wire: the CloudEvents AMQP protocol binding, structured content mode. Every message is one "
                "CloudEvents 1.0 event in the JSON event format (schema `Envelope`: `specversion`, `id`, "
                "`source`, `type`, `time`, `dataversion` and `data` always, `subject`, `requestid` and `traceparent` "
                "(the W3C trace context: CloudEvents distributed tracing extension) when set; "
                f"unset attributes are left out), with the AMQP content-type `{CONTENT_TYPE}`. The AMQP "
                "properties repeat what the event says: `message_id` is `id`, `type` is `type` (and the "
                "routing key), `app_id` the producing service, `timestamp` the moment of publishing; header "
                f"`x-request-id` is `requestid`. Events published before this binding, still in the archive for "
                f"its retention, say `{LEGACY_MEDIA_TYPE}` and may carry `\"subject\": null`; the body is the same "
                "event.\n\n"
                "Versions: `dataversion` is the schema version of `data` for its type. Fields may be added to "
                "`data` without a new version (ignore what you do not know); a field removed, renamed or "
                "changed in meaning or type is a new `dataversion`.\n\n"
                "Each message says what happened (`type`, `time`, `subject`), which ids it concerns, and where "
                "to read the details: `x-fetch` names the HTTP call of a Doorstroom service (its OpenAPI "
                "document at `/openapi.json`), each parameter a runtime expression into the message, and who "
                "may call it; the reads of a dossier are recorded. `x-personal-data` lists the fields of "
                "`data` that carry personal data; no other field does, and no event carries a BSN.\n\n"
                "Secrets are sealed. A field with `format: sealed` (`x-sealed: true`) is a link or code that lets "
                "its holder act (verify an address, set a password, accept an invitation, redeem an activation "
                "code, read a dossier as a parent). It travels, and rests in every queue, the archive and parked "
                "messages, encrypted with AES-256-GCM under a key only Doorstroom's own services hold "
                "(`sealed:v1:<key id>:<base64url(nonce, ciphertext, tag)>`). Outside subscribers get no secrets: "
                "they learn that a link or code was sent to someone, never the link or code."),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {"rabbitmq": {"host": "rabbitmq:5672", "protocol": "amqp", "protocolVersion": "0-9-1"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    CONTRACT_PATH.parent.mkdir(exist_ok=True)
    CONTRACT_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {CONTRACT_PATH}", file=sys.stderr)
