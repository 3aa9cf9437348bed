"""The event envelope: a CloudEvents 1.0 event in the JSON event format, sent in the structured
content mode of the CloudEvents AMQP protocol binding.

On the wire (what every subscriber sees, and what ``docs/asyncapi.json`` publishes as the schema
``Envelope``):

* the AMQP ``content-type`` property is ``application/cloudevents+json; charset=utf-8``
  (``CONTENT_TYPE``), and the message body is the whole event, attributes and ``data``, as one
  UTF-8 JSON object;
* the CloudEvents attributes ``specversion``, ``id``, ``source`` and ``type`` are always there, as
  are ``time`` and our extension attributes ``dataversion`` (the schema version of ``data`` for
  its type) and ``data``; ``subject``, ``requestid`` and ``traceparent`` (the W3C trace context,
  CloudEvents distributed tracing extension) only when they have a value (an unset
  attribute is left out, never ``null``: CloudEvents treats null as unset, but not every client
  library accepts it).

Messages published before this binding (still in queues, retry and parking queues and the
archive stream for a while) say ``application/json`` and may carry ``"subject": null``; they are
the same envelope and are accepted as before (``parse_wire``).
"""
from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: the AMQP content-type of a published event (CloudEvents AMQP binding, structured content mode)
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
#: the media type of the CloudEvents JSON event format, without parameters
STRUCTURED_MEDIA_TYPE = "application/cloudevents+json"
#: what messages published before the structured mode say; still accepted
LEGACY_MEDIA_TYPE = "application/json"
#: ``datacontenttype``: ``data`` is a JSON object
DATA_CONTENT_TYPE = "application/json"

#: what the envelope schema requires: CloudEvents' required attributes, and what Doorstroom
#: always sends besides (``time``, ``dataversion``, ``data``)
CLOUDEVENTS_REQUIRED = ("specversion", "id", "source", "type")
WIRE_REQUIRED = (*CLOUDEVENTS_REQUIRED, "time", "dataversion", "data")


UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
RFC3339_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"


class WireFormatError(ValueError):
    """The message is not an event in a format this project reads (never retried: parked)."""


class Envelope(BaseModel):
    """One event as it travels. ``data`` is validated against the payload model of ``type``."""

    model_config = ConfigDict(extra="ignore")

    specversion: Literal["1.0"] = Field("1.0", description="the CloudEvents version")
    id: uuid.UUID = Field(default_factory=uuid.uuid4, description="unique per event; consumers dedupe on it")
    source: str = Field(min_length=1, description="the producing service, e.g. /doorstroom/identity",
                        json_schema_extra={"format": "uri-reference"})
    type: str = Field(min_length=1,
                      description="the event type, also the routing key, e.g. identity.verification_requested")
    dataversion: int = Field(1, ge=1, description="schema version of data for this type (extension attribute); "
                                                  "it changes only when data changes incompatibly")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC),
                           description="when it happened: the moment of the change, written in its transaction")
    subject: str | None = Field(None, description="the entity the event is about (an id, never personal data); "
                                                  "left out when there is none")
    datacontenttype: Literal["application/json"] = Field(DATA_CONTENT_TYPE, description="data is a JSON object")
    requestid: str | None = Field(None, description="the request that caused the event, for tracing (extension "
                                                    "attribute); left out when there is none")
    traceparent: str | None = Field(None, pattern=TRACEPARENT_PATTERN,
                                    description="the W3C trace context of the work that caused the event "
                                                "(CloudEvents distributed tracing extension); left out when there "
                                                "is none")
    data: dict[str, Any]

    @field_validator("traceparent", mode="before")
    @classmethod
    def _trace_context_or_none(cls, value: object) -> object:
        # a trace context that is not valid is dropped (a new trace starts), never a reason to
        # refuse the event: the W3C rule for a traceparent that cannot be parsed
        return value if isinstance(value, str) and re.match(TRACEPARENT_PATTERN, value) else None

    def wire(self) -> dict[str, Any]:
        """The event as it is published: JSON values, unset attributes left out."""
        return wire_dict(self.model_dump(mode="json"))


def wire_dict(envelope: dict[str, Any]) -> dict[str, Any]:
    """An envelope as stored (an outbox row, possibly written before the structured mode with
    ``"subject": null``) as it goes on the wire: the attributes without a value left out."""
    return {k: v for k, v in envelope.items() if v is not None or k == "data"}


def wire_body(envelope: dict[str, Any]) -> bytes:
    """The AMQP message body of a stored envelope: UTF-8 JSON, unset attributes left out."""
    return json.dumps(wire_dict(envelope), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_wire(body: bytes, content_type: str | None) -> Envelope:
    """Read an event from an AMQP message: the structured content mode
    (``application/cloudevents+json``, any charset parameter), or the ``application/json`` of
    messages published before it (or no content type at all, as a hand-made message may have).
    Anything else, and a body that is not an envelope, raises ``WireFormatError``."""
    kind = media_type(content_type)
    if kind not in (STRUCTURED_MEDIA_TYPE, LEGACY_MEDIA_TYPE, ""):
        raise WireFormatError(f"content-type {content_type!r} is geen CloudEvent in JSON "
                              f"(verwacht {STRUCTURED_MEDIA_TYPE})")
    try:
        return Envelope.model_validate_json(body)
    except ValueError as exc:
        raise WireFormatError(f"geen geldige envelop: {exc}") from exc


def envelope_schema() -> dict[str, Any]:
    """The JSON schema of the envelope as published (without the per-type ``data``): what
    CloudEvents requires is required, unset attributes may be absent (or ``null``, which
    CloudEvents reads as unset: older archived messages have it), and any further attribute must
    have a CloudEvents attribute name (lower-case letters and digits; so no ``data_base64``: data
    is always JSON)."""
    schema = copy.deepcopy(Envelope.model_json_schema())
    schema["title"] = "Envelope"
    schema["description"] = (
        "A CloudEvents 1.0 event in the JSON event format (the whole AMQP message body, content-type "
        f"`{CONTENT_TYPE}`). Required: the CloudEvents attributes specversion, id, source and type, and "
        "Doorstroom's time, dataversion and data. Unset optional attributes are left out.")
    props = schema["properties"]
    # patterns besides the formats: a validator need not check formats (JSON Schema makes them annotations)
    props["id"].update({"type": "string", "format": "uuid", "minLength": 1, "pattern": UUID_PATTERN})
    props["time"]["pattern"] = RFC3339_PATTERN
    props["data"] = {"type": "object", "description": "the payload; its schema depends on type and dataversion"}
    for name in ("specversion", "dataversion", "subject", "requestid", "traceparent"):
        props[name].pop("default", None)
    for name in ("subject", "requestid"):  # a consumer tolerates an empty one; a producer sends none
        props[name]["anyOf"][0]["minLength"] = 1
    schema["required"] = list(WIRE_REQUIRED)
    schema["propertyNames"] = {"pattern": "^[a-z0-9]+$"}
    return schema
