"""The example subscriber (examples/mbo_intake/intake.py) against the real system, run as the program
an MBO would run: a separate process with only its environment. A dossier completed before the
program ever ran is caught up from the feed; one completed while it runs arrives by its queue; one
completed while it is stopped waits in its durable queue. Each is stored once (JSON, PDF, OSO XML valid
against the national XSD) and marked handled, which the MBO inbox shows; an event delivered twice
imports nothing twice."""
from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import aio_pika
import pytest

from services.dossier.oso.mapping import XSD_PATH
from services.identity.domain.bsn import is_valid_bsn
from tests.browser.system import (ROSTER_HEADER, dossier_api, import_roster, invite_mentor, issue_codes_by_mail,
                                  open_system, seed, student_with_dossier, to_agreement)
from tests.support import env
from tests.support.wait import eventually

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "examples" / "mbo_intake" / "intake.py"
XSD = XSD_PATH
CLIENT_NAME = "Eduarte MBO Utrecht (voorbeeld)"


def _bsn() -> str:
    while True:
        candidate = f"{random.randrange(100_000_000, 999_999_999)}"
        if is_valid_bsn(candidate):
            return candidate


class Program:
    """The example as a process of its own; its log is kept for the assertion messages."""

    def __init__(self, environment: dict[str, str], log: Path) -> None:
        self.environment, self.log, self.proc = environment, log, None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(PROGRAM)], env=self.environment, cwd=self.log.parent,
                                     stdout=self.log.open("a"), stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def rows(database: Path) -> dict[str, dict]:
    if not database.exists():
        return {}
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        try:
            return {r["dossier_id"]: dict(r) for r in db.execute("SELECT * FROM applications")}
        except sqlite3.OperationalError:
            return {}


async def test_the_example_imports_every_completed_dossier_once_and_marks_it_handled(tmp_path: Path):
    async with AsyncExitStack() as stack:
        system = await open_system(stack)
        demo = await seed(system)
        t = system.tag
        students = [(f"s{n}-{t}@leerling.example.nl", _bsn()) for n in range(3)]
        await import_roster(system, demo, [f"70{n}1;Noor;Noor;van;Dijk{n};01-02-2008;4a;4;{email};{demo.mentor};{bsn}"
                                           for n, (email, bsn) in enumerate(students)],
                            header=ROSTER_HEADER + ";bsn")
        await invite_mentor(system, demo)
        await issue_codes_by_mail(system, demo, "4a")
        dossiers = []
        for email, bsn in students:
            dossier_id = await student_with_dossier(system, email, bsn)
            await to_agreement(system, demo, email, dossier_id)
            dossiers.append(dossier_id)

        async def complete(n: int) -> None:
            student = await system.login(students[n][0])
            view = await dossier_api(system, "GET", f"/v1/dossiers/{dossiers[n]}", student)
            await dossier_api(system, "POST", f"/v1/dossiers/{dossiers[n]}/complete", student, view["version"])

        admin = demo.admin_token
        client = await system.api("POST", "/v1/clients", admin, json={
            "institution_id": demo.mbo_id, "name": CLIENT_NAME, "scopes": ["dossiers:read", "dossiers:handle"]})

        # a test subscriber of its own keeps a copy of each dossier.completed, to deliver one twice later
        exchange_name = env.run_exchange(f"browser_{t}")
        amqp = await aio_pika.connect(env.AMQP_URL)
        stack.push_async_callback(amqp.close)
        channel = await amqp.channel()
        exchange = await channel.declare_exchange(exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
        copies = await channel.declare_queue(exclusive=True)
        await copies.bind(exchange, "dossier.completed")

        await complete(0)  # before the program ever ran: only the feed can bring it
        queue_name = f"{exchange_name}.mbo-intake-example"
        database = tmp_path / "intake.sqlite3"
        program = Program({
            "PATH": os.environ.get("PATH", ""), "PYTHONPATH": "",
            "DOORSTROOM_CLIENT_ID": client["client_id"], "DOORSTROOM_CLIENT_SECRET": client["client_secret"],
            "DOORSTROOM_INSTITUTION_ID": demo.mbo_id, "DOORSTROOM_IDENTITY_URL": system.identity_url,
            "DOORSTROOM_DOSSIER_URL": system.dossier_url, "DOORSTROOM_DOCUMENT_URL": system.document_url,
            "DOORSTROOM_AMQP_URL": env.AMQP_URL, "DOORSTROOM_EXCHANGE": exchange_name, "INTAKE_QUEUE": queue_name,
            "INTAKE_DATABASE": str(database), "INTAKE_CATCH_UP_SECONDS": "3600", "INTAKE_RETRY_SECONDS": "0.5",
        }, tmp_path / "intake.log")
        stack.callback(program.stop)
        stack.push_async_callback(_delete_queue, queue_name)

        def handled(*ids: str):
            found = rows(database)
            return all(i in found and found[i]["handled_at"] for i in ids) and found

        program.start()
        try:
            await eventually(lambda: handled(dossiers[0]), timeout=60, what="the dossier from the feed")
            await complete(1)  # while it runs: by its queue (the next catch-up is an hour away)
            found = await eventually(lambda: handled(dossiers[0], dossiers[1]), timeout=60,
                                     what="the dossier from the queue")
        except TimeoutError:
            raise AssertionError(program.output())

        for dossier_id in dossiers[:2]:
            row = found[dossier_id]
            dossier = json.loads(row["dossier_json"])
            assert dossier["intake"]["student_number"] == row["student_number"]
            assert dossier["intake"]["date_of_birth"] == row["date_of_birth"] == "2008-02-01"
            assert any(f["label"] for s in dossier["sections"] for f in s["fields"])
            assert row["pdf"][:5] == b"%PDF-"
            assert "<" in row["oso_xml"]
            _valid_oso(row["oso_xml"])

        mbo = await system.login(demo.mbo_staff)
        inbox = {d["id"]: d for d in (await dossier_api(system, "GET", "/v1/mbo/dossiers", mbo))["dossiers"]}
        assert {(inbox[i]["handled"], inbox[i]["handled_by"]) for i in dossiers[:2]} == {(True, CLIENT_NAME)}

        # stopped: the durable queue keeps what completes meanwhile
        program.stop()
        await complete(2)
        await asyncio.sleep(0.5)
        assert dossiers[2] not in rows(database)
        program.start()
        await eventually(lambda: handled(*dossiers), timeout=60, what="the dossier completed while it was stopped")

        # an event delivered twice: acknowledged, nothing fetched again
        views_before = await _client_views(system, demo, dossiers[1])
        copy = await _copy_of(copies, dossiers[1])
        await exchange.publish(aio_pika.Message(copy.body, content_type=copy.content_type,
                                                message_id=copy.message_id), "dossier.completed")
        await eventually(lambda: _queue_empty(queue_name), timeout=20, what="the duplicate consumed")
        await asyncio.sleep(0.5)
        assert await _client_views(system, demo, dossiers[1]) == views_before
        assert len(rows(database)) == 3
        program.stop()
        assert "Traceback" not in program.output(), program.output()


def _valid_oso(xml: str) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    xmlschema.XMLSchema(str(XSD)).validate(xml)


async def _copy_of(queue: aio_pika.abc.AbstractQueue, dossier_id: str) -> aio_pika.abc.AbstractIncomingMessage:
    async def find():
        message = await queue.get(fail=False, no_ack=True)
        if message is not None and json.loads(message.body)["data"]["dossier_id"] == dossier_id:
            return message
        return None
    return await eventually(find, timeout=10, what="the copy of the event")


async def _client_views(system, demo, dossier_id: str) -> int:
    counsellor = await system.login(demo.counsellor)
    audit = await dossier_api(system, "GET", f"/v1/dossiers/{dossier_id}/audit", counsellor)
    return sum(1 for e in audit["entries"] if e["by_name"] == CLIENT_NAME and e["what"] == "feed:dossier")


async def _queue_empty(name: str) -> bool:
    connection = await aio_pika.connect(env.AMQP_URL)
    async with connection:
        queue = await (await connection.channel()).declare_queue(name, passive=True)
        return queue.declaration_result.message_count == 0


async def _delete_queue(name: str) -> None:
    connection = await aio_pika.connect(env.AMQP_URL)
    async with connection:
        await (await connection.channel()).queue_delete(name)
