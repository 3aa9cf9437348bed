"""The published contract: an AsyncAPI 3 document generated from the event registry.

``python -m shared.events.asyncapi`` rewrites docs/asyncapi.json; a test keeps it in step.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from shared.events.envelope import Envelope
from shared.events.registry import all_event_types

CONTRACT_PATH = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"


def _ref_safe(name: str) -> str:
    return name.replace(".", "_")


def build_document(exchange: str = "doorstroom.events") -> dict:
    channels, operations, messages, schemas = {}, {}, {}, {}
    envelope_schema = Envelope.model_json_schema()
    envelope_schema["properties"].pop("data")
    schemas["Envelope"] = envelope_schema
    for et in all_event_types():
        key = _ref_safe(et.name)
        payload_schema = et.payload.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in payload_schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[f"{key}_data"] = payload_schema
        messages[key] = {
            "name": et.name,
            "title": et.payload.__name__,
            "summary": et.summary,
            "contentType": "application/cloudevents+json",
            "headers": {"type": "object", "properties": {
                "message_id": {"type": "string", "description": "equals the envelope id"}}},
            "payload": {"allOf": [
                {"$ref": "#/components/schemas/Envelope"},
                {"type": "object", "required": ["type", "data"], "properties": {
                    "type": {"const": et.name},
                    "dataversion": {"const": et.version},
                    "data": {"$ref": f"#/components/schemas/{key}_data"}}}]},
            "x-producer": et.producer,
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
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Doorstroom domain events",
            "version": "1.0.0",
            "description": (
                "Events of the Digitaal Doorstroomdossier. Subscribe with your own durable queue bound "
                f"to the routing keys you need on the topic exchange `{exchange}`. Every message is a "
                "CloudEvents 1.0 envelope in JSON structured mode; deduplicate on `id` (delivery is "
                "at least once). `dataversion` changes only for incompatible changes of `data`."),
        },
        "defaultContentType": "application/cloudevents+json",
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
