"""identity.student_changed carries the verified address of the student's own account
(``account_email``): when the code is redeemed, and with every later change of the roster record,
so the dossier service mails the student where they read their mail, also a student who got the
code by letter and registered with an address of their own."""
from __future__ import annotations

from tests.integration.identity.conftest import CSV_HEADER
from tests.integration.identity.test_activation import issue, redeem, student_account


def _of(events: list[dict], student_id) -> list[dict]:
    return [e for e in events if e["student_id"] == str(student_id)]


async def test_the_accounts_address_goes_with_the_student_record(w):
    # the demo student who redeemed her code: her account's address
    roos = _of(await w.events("identity.student_changed"), await w.student_id("100234"))
    assert roos[-1]["account_email"] == "roos.dewinter@leerling.example"

    # Sem Yilmaz has no address in the roster: a code by letter, an account with an address of his own
    sem = await w.student_id("100236")
    status, _ = await issue(w, "counsellor", channel="letter", student_id=str(sem))
    assert status == 201
    [job] = await w.events("identity.activation_letters_requested")
    before = len(_of(await w.events("identity.student_changed"), sem))
    assert all(e["account_email"] is None for e in _of(await w.events("identity.student_changed"), sem))
    auth = await student_account(w, "111222333", "Sem.Eigen@Thuis.example.nl")
    status, done = await redeem(w, auth, job["letters"][0]["code"])
    assert status == 200, done
    changes = _of(await w.events("identity.student_changed"), sem)
    assert len(changes) == before + 1
    assert changes[-1]["account_email"] == "sem.eigen@thuis.example.nl" and changes[-1]["email"] is None
    assert changes[-1]["account_id"] is not None

    # a later roster import that changes his record still tells where he reads his mail
    csv = CSV_HEADER + "100236;Sem;Sem Ali;;Yilmaz;23-11-2009;4b;4;;;p.devries@voorbeeldcollege.example\n"
    status, job = await w.import_csv(csv.encode())
    assert status == 202 and job["state"] == "done", job
    changes = _of(await w.events("identity.student_changed"), sem)
    assert changes[-1]["class_name"] == "4b" and changes[-1]["account_email"] == "sem.eigen@thuis.example.nl"
