"""Issue 12 from the outside, with the whole system in process (identity, dossier, document,
notification on loopback, one exchange): the platform administrator registers a client for the MBO
through identity's API; a student completes a dossier addressed there; the client gets a token from
POST /oauth/token and lists the feed, fetches the dossier as JSON and as PDF (document service),
marks it handled (the MBO inbox shows it); a client of another institution gets 404; after the
client is revoked the services refuse its token within seconds (identity.client_revoked)."""
from __future__ import annotations

import base64
import random
from contextlib import AsyncExitStack

from services.identity.domain.bsn import is_valid_bsn
from tests.browser.system import (ROSTER_HEADER, dossier_api, import_roster, invite_mentor, issue_codes_by_mail,
                                  open_system, seed, student_with_dossier, to_agreement)
from tests.support.wait import eventually


def _bsn() -> str:
    while True:
        candidate = f"{random.randrange(100_000_000, 999_999_999)}"
        if is_valid_bsn(candidate):
            return candidate


async def _client(system, admin: str, institution_id: str, name: str) -> tuple[str, str]:
    body = await system.api("POST", "/v1/clients", admin, json={
        "institution_id": institution_id, "name": name, "scopes": ["dossiers:read", "dossiers:handle"]})
    return body["client_id"], body["client_secret"]


async def _token(system, client_id: str, secret: str) -> dict:
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    async with system.http.post(system.identity_url + "/oauth/token", data={"grant_type": "client_credentials"},
                                headers={"Authorization": f"Basic {auth}"}) as r:
        assert r.status == 200, await r.text()
        return {"Authorization": f"Bearer {(await r.json())['access_token']}"}


async def test_a_student_administration_pulls_a_completed_dossier():
    async with AsyncExitStack() as stack:
        system = await open_system(stack)
        demo = await seed(system)
        t = system.tag
        email, bsn = f"noor-{t}@leerling.example.nl", _bsn()
        await import_roster(system, demo, [f"6001;Noor;Noor;van;Dijk;01-02-2008;4a;4;{email};{demo.mentor};{bsn}"],
                            header=ROSTER_HEADER + ";bsn")
        await invite_mentor(system, demo)
        await issue_codes_by_mail(system, demo, "4a")
        dossier_id = await student_with_dossier(system, email, bsn)
        await to_agreement(system, demo, email, dossier_id)
        student = await system.login(email)
        view = await dossier_api(system, "GET", f"/v1/dossiers/{dossier_id}", student)
        await dossier_api(system, "POST", f"/v1/dossiers/{dossier_id}/complete", student, view["version"])

        admin = demo.admin_token
        client_id, secret = await _client(system, admin, demo.mbo_id, "Eduarte MBO Utrecht")
        other = await system.api("POST", "/v1/schools", admin, json={"kind": "mbo", "name": f"ROC Elders {t}"})
        other_id, other_secret = await _client(system, admin, other["school_id"], "Osiris ROC Elders")
        headers = await _token(system, client_id, secret)
        elsewhere = await _token(system, other_id, other_secret)

        async def get(url: str, h: dict) -> tuple[int, object]:
            async with system.http.get(url, headers=h) as r:
                data = await r.read()
                return r.status, (data if r.content_type == "application/pdf" else await r.json(content_type=None))

        status, page = await get(system.dossier_url + "/v1/feed/completed?after=0", headers)
        assert status == 200 and [d["dossier_id"] for d in page["dossiers"]] == [dossier_id]
        status, dossier = await get(system.dossier_url + page["dossiers"][0]["href"], headers)
        assert status == 200 and dossier["intake"]["name"] == "Noor van Dijk"
        assert dossier["intake"]["date_of_birth"] == "2008-02-01" and dossier["intake"]["student_number"] == "6001"
        assert dossier["intake"]["programme"]["crebo"] == "95392"
        status, pdf = await get(system.document_url + f"/v1/dossiers/{dossier_id}/pdf?part=all", headers)
        assert status == 200 and pdf[:5] == b"%PDF-"
        async with system.http.post(system.dossier_url + f"/v1/feed/dossiers/{dossier_id}/handled",
                                    headers=headers) as r:
            assert r.status == 200, await r.text()
        mbo = await system.login(demo.mbo_staff)
        inbox = await dossier_api(system, "GET", "/v1/mbo/dossiers", mbo)
        assert [(d["id"], d["handled"], d["handled_by"]) for d in inbox["dossiers"]] == [
            (dossier_id, True, "Eduarte MBO Utrecht")]

        # a client of another institution: nothing
        status, page = await get(system.dossier_url + "/v1/feed/completed", elsewhere)
        assert status == 200 and page["dossiers"] == []
        for url in (system.dossier_url + f"/v1/feed/dossiers/{dossier_id}",
                    system.document_url + f"/v1/dossiers/{dossier_id}/pdf?part=all"):
            assert (await get(url, elsewhere))[0] == 404

        # the client's log in identity: tokens issued; the dossier's view log: the client by name
        log = await system.api("GET", f"/v1/clients/{client_id}/log", admin)
        assert "token_issued" in [e["event"] for e in log["entries"]]
        counsellor = await system.login(demo.counsellor)
        audit = await dossier_api(system, "GET", f"/v1/dossiers/{dossier_id}/audit", counsellor)
        assert {(e["what"], e["purpose"]) for e in audit["entries"] if e["by_name"] == "Eduarte MBO Utrecht"} >= {
            ("feed:dossier", "view"), ("dossier:part_a,part_b", "pdf"), ("handled", None)}

        # revoked: refused by the dossier and document services within seconds
        await system.api("POST", f"/v1/clients/{client_id}/revoke", admin)

        async def refused() -> bool:
            return ((await get(system.dossier_url + "/v1/feed/completed", headers))[0] == 401
                    and (await get(system.document_url + f"/v1/dossiers/{dossier_id}/pdf", headers))[0] == 401)

        await eventually(refused, timeout=30, what="the revoked client's token refused")
        assert (await get(system.dossier_url + "/v1/feed/completed", elsewhere))[0] == 200
