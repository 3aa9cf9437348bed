"""Every service: health, readiness, OpenAPI, and problem+json answers for bad requests."""
from __future__ import annotations

import importlib

import pytest

from tests.support.apps import serve, settings

SERVICES = ["identity", "dossier", "notification", "document"]


def _app(name: str, unique: str, **overrides):
    module = importlib.import_module(f"services.{name}.app")
    settings_module = importlib.import_module(f"services.{name}.settings")
    cls = next(v for k, v in vars(settings_module).items() if k.endswith("Settings") and k != "ServiceSettings")
    return module.make_app(settings(cls, f"http_{name}_{unique}", **overrides))


@pytest.mark.parametrize("name", SERVICES)
async def test_health_readiness_and_openapi(name, unique):
    async with serve(_app(name, unique)) as client:
        r = await client.get("/healthz")
        assert r.status == 200 and (await r.json())["status"] == "ok"
        r = await client.get("/readyz")
        assert r.status == 200 and (await r.json())["checks"] == {"database": True, "broker": True}
        doc = await (await client.get("/openapi.json")).json()
        assert doc["openapi"].startswith("3.") and doc["info"]["title"].startswith("Doorstroom")
        r = await client.get("/bestaat-niet")
        assert r.status == 404 and r.content_type == "application/problem+json"
        assert (await r.json())["detail"] == "Deze pagina of dit gegeven bestaat niet."


async def test_bad_bodies_get_dutch_problems_and_change_nothing(unique):
    from shared.app import DB
    app = _app("identity", unique, max_body_bytes=4096)
    async with serve(app) as client:
        url = "/v1/registrations"
        ok = {"bsn": "111222333", "email": "a@example.nl"}
        cases = [
            (dict(data="{kapot", headers={"Content-Type": "application/json"}), 400, "geen geldige JSON"),
            (dict(data="email=a@b.nl", headers={"Content-Type": "application/x-www-form-urlencoded"}), 415, "JSON"),
            (dict(json=["a@b.nl"]), 422, "JSON-object"),
            (dict(json={}), 422, "Niet alle gegevens"),
            (dict(json={**ok, "email": 12}), 422, "Niet alle gegevens"),
            (dict(json={**ok, "email": "geen-adres"}), 422, "Niet alle gegevens"),
            (dict(json={**ok, "bsn": "111222334"}), 422, "Niet alle gegevens"),
            (dict(json={**ok, "extra": True}), 422, "Niet alle gegevens"),
            (dict(json={**ok, "pad": "x" * 10_000}), 413, "te groot"),
        ]
        for kwargs, status, words in cases:
            r = await client.post(url, **kwargs)
            assert r.status == status, (kwargs, r.status, await r.text())
            assert r.content_type == "application/problem+json"
            problem = await r.json()
            assert words in problem["detail"] and problem["status"] == status
            assert "Traceback" not in await r.text()
        r = await client.post(url, json={"bsn": "111222333"})
        assert (await r.json())["errors"] == [{"field": "email", "message": "Dit veld is verplicht."}]
        r = await client.post(url, json={**ok, "bsn": "111222334"})
        assert (await r.json())["errors"] == [{"field": "bsn", "message": "Dit BSN klopt niet (elfproef)."}]
        r = await client.get(url)
        assert r.status == 405 and r.content_type == "application/problem+json"
        async with app[DB].acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
            assert await conn.fetchval("SELECT count(*) FROM email_tokens") == 0


async def test_request_id_is_echoed_and_unsafe_ids_are_replaced(unique):
    async with serve(_app("identity", unique)) as client:
        r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert r.headers["X-Request-ID"] == "abc-123"
        r = await client.get("/healthz", headers={"X-Request-ID": "a\" b {fake} <log>"})
        assert r.headers["X-Request-ID"] != "a\" b {fake} <log>" and len(r.headers["X-Request-ID"]) == 32
