"""The published contract (docs/asyncapi.json) is generated from the event registry and kept in step."""
from __future__ import annotations

import json

from shared.events import asyncapi
from shared.events.envelope import Envelope
from shared.events.registry import all_event_types, lookup


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
