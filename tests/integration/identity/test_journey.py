"""Chapter 1 of the manual, over HTTP, with the real mail path: roster import -> codes issued by
mail -> the mail read from the SMTP sink -> registration -> verification mail -> password ->
login -> redeem the code -> /v1/me shows the link (and other services can verify the token)."""
from __future__ import annotations

import re

from services.notification.app import make_app as make_notification
from services.notification.settings import NotificationSettings
from shared.auth import TokenVerifier
from shared.devtools.smtp_sink import SmtpSink
from tests.integration.identity.conftest import CSV_HEADER, world
from tests.support.apps import serve, settings

LOTTE = "lotte.bos@leerling.example"
BSN = "123456757"


def body(mail) -> str:
    return mail.get_body().get_content()


async def test_chapter_1_from_roster_to_linked_account(unique):
    async with SmtpSink() as sink, world(f"journey_id_{unique}") as w, serve(make_notification(settings(
            NotificationSettings, f"journey_no_{unique}", smtp_port=sink.port, delivery_poll_seconds=0.2,
            event_exchange=w.settings.event_exchange))):
        # the school admin imports the roster (a new class 4c)
        csv = CSV_HEADER + f"200001;Lotte;Lotte;;Bos;01-02-2010;4c;4;{LOTTE};{BSN};k.jansen@voorbeeldcollege.example\n"
        status, job = await w.import_csv(csv.encode())
        assert status == 202 and job["state"] == "done" and job["classes_created"] == ["4c"], job

        # the counsellor issues codes to class 4c by e-mail
        class_id = await w.class_id("4c")
        r = await w.client.post("/v1/activation-codes", json={"channel": "email", "class_id": str(class_id)},
                                headers=await w.headers("counsellor"))
        assert r.status == 201, await r.text()
        batch = await r.json()
        assert [s["name"] for s in batch["issued"]] == ["Lotte Bos"] and batch["skipped"] == []

        # the mail with the manual's steps and the code
        [mail] = await sink.wait_for(1, timeout=20)
        assert mail.envelope_to == [LOTTE]
        assert mail["Subject"] == "Je activatiecode voor het digitaal doorstroomdossier"
        text = body(mail)
        assert "1. Ga naar de pagina 'Maak een nieuw account': http" in text and "Het Voorbeeld College" in text
        assert "5. Log in met je e-mailadres en wachtwoord ('Inloggen') en klik op 'Nieuw dossier'." in text
        assert "7. Klik op de knop 'Nieuw dossier'" in text
        code = re.search(r"Vul de volgende activatiecode in: ([0-9A-Z-]{12})", text)[1]

        # step 2: BSN and e-mail; step 3: the verification mail
        r = await w.client.post("/v1/registrations", json={"bsn": BSN, "email": LOTTE})
        assert r.status == 202
        mails = await sink.wait_for(2, timeout=20)
        assert mails[1]["Subject"] == "Bevestig je e-mailadres voor Doorstroom"
        token = re.search(r"/account/verifieren\?token=([\w-]+)", body(mails[1]))[1]

        # step 4: a password; then log in
        r = await w.client.post("/v1/registrations/confirm", json={"token": token, "password": "lente in de polder 2026"})
        assert r.status == 200, await r.text()
        tokens = await w.login(LOTTE, "lente in de polder 2026")
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        me = await (await w.client.get("/v1/me", headers=auth)).json()
        assert me["role"] == "student" and me["student"] is None

        # step 6: the activation code (typed in lower case, without dashes)
        r = await w.client.post("/v1/activation-codes/redeem", json={"code": code.replace("-", "").lower()},
                                headers=auth)
        assert r.status == 200, await r.text()
        redeemed = await r.json()
        assert redeemed["student"]["name"] == "Lotte Bos" and redeemed["student"]["activation"]["status"] == "redeemed"

        me = await (await w.client.get("/v1/me", headers={"Authorization": f"Bearer {redeemed['access_token']}"})).json()
        assert me["student"]["class_name"] == "4c" and me["student"]["school_name"] == "Het Voorbeeld College"
        assert me["student"]["student_number"] == "200001"

        # another service verifies the new token with identity's public keys, over HTTP
        verifier = TokenVerifier(str(w.client.make_url("/.well-known/jwks.json")))
        principal = await verifier.verify(redeemed["access_token"])
        assert principal.role == "student" and str(principal.student_id) == me["student"]["student_id"]
        assert str(principal.school_id) == me["student"]["school_id"]

        # the counsellor sees the code as redeemed; the events say what happened (without the BSN)
        r = await w.client.get(f"/v1/students?class_id={class_id}", headers=await w.headers("counsellor"))
        [student] = (await r.json())["students"]
        assert student["activation"]["status"] == "redeemed" and student["account_linked"] is True
        [redeem_event] = [e for e in await w.events("identity.activation_code_redeemed")
                          if e["student_id"] == student["student_id"]]
        assert redeem_event["account_id"] == me["account_id"]
        changes = [e for e in await w.events("identity.student_changed") if e["student_id"] == student["student_id"]]
        assert changes[0]["account_id"] is None and changes[-1]["account_id"] == me["account_id"]
        assert BSN not in await w.outbox_text()
