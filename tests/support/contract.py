"""Validating messages against the published contract (docs/asyncapi.json) as an outside
subscriber would: the JSON document and ``jsonschema``, none of the project's own models."""
from __future__ import annotations

import json
from functools import lru_cache

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from shared.events.asyncapi import CONTRACT_PATH

BASE = "urn:doorstroom:asyncapi"


@lru_cache(maxsize=1)
def published() -> dict:
    """The committed document, as a subscriber downloads it."""
    return json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))


def _validator(pointer: str, doc: dict | None = None) -> Draft202012Validator:
    doc = doc if doc is not None else published()
    registry = Registry().with_resource(BASE, Resource.from_contents(doc, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"{BASE}#{pointer}"}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def message_validator(event_type: str, doc: dict | None = None) -> Draft202012Validator:
    """The schema of one message of the document (envelope and data)."""
    return _validator(f"/components/messages/{event_type.replace('.', '_')}/payload", doc)


def envelope_validator(doc: dict | None = None) -> Draft202012Validator:
    return _validator("/components/schemas/Envelope", doc)


def errors(validator: Draft202012Validator, instance: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]
