"""The demo is a living school: against identity and dossier in process (on an exchange of this
test), the demo loader drives dossiers through the real APIs into every state of the workflow, and
each login then finds them in its overviews and inbox. A run that stopped half-way is completed,
not duplicated, and a second run finds everything done and adds nothing."""
from __future__ import annotations

from contextlib import AsyncExitStack

import aiohttp
from aiohttp.test_utils import TestServer

from services.dossier.app import make_app as make_dossier
from services.dossier.settings import DossierSettings
from services.identity.app import make_app as make_identity
from services.identity.demo import STAFF, load_demo
from services.identity.demo_school import cast, load_school
from services.identity.demo_school.accounts import load_students
from services.identity.demo_school.client import Api
from services.identity.demo_school.parent_links import ParentMailbox
from services.identity.demo_school.settings import DemoSettings
from services.identity.demo_school.stories import Story
from services.identity.settings import IdentitySettings
from shared.app import DB
from tests.support import env
from tests.support.apps import free_port, settings

FAST_HASH = dict(environment="test", argon2_time_cost=1, argon2_memory_kib=1024)
STAFF_EMAIL = {s[0]: s[3] for s in STAFF}
BY_NAME = {s.roepnaam: s for s in cast.STUDENTS}


async def _start(stack: AsyncExitStack, unique: str) -> tuple[DemoSettings, object]:
    exchange = env.run_exchange(f"demo_{unique}")
    identity_port = free_port()
    identity_url = f"http://127.0.0.1:{identity_port}"
    common = dict(event_exchange=exchange, auth_jwks_url=identity_url + "/.well-known/jwks.json")
    identity = make_identity(settings(IdentitySettings, f"demo_id_{unique}", **FAST_HASH, **common))
    servers = [TestServer(identity, host="127.0.0.1", port=identity_port),
               TestServer(make_dossier(settings(DossierSettings, f"demo_do_{unique}", reminder_auto=False,
                                                retention_auto=False, **common)), host="127.0.0.1")]
    for server in servers:
        await server.start_server()
        stack.push_async_callback(server.close)
    demo = settings(DemoSettings, f"demo_id_{unique}", **FAST_HASH, **common, identity_url=identity_url,
                    dossier_url=str(servers[1].make_url("")).rstrip("/"), demo_wait_seconds=30)
    return demo, identity


async def test_the_demo_school_shows_every_state_and_a_second_run_adds_nothing(unique):
    async with AsyncExitStack() as stack:
        demo, identity = await _start(stack, unique)
        await load_demo(identity[DB], demo)
        await load_students(identity[DB], demo)
        http = await stack.enter_async_context(aiohttp.ClientSession())
        passwords = {s[3]: s[5] for s in STAFF} | {s.login: cast.PASSWORD for s in cast.STUDENTS}
        api = Api(http, demo.identity_url, demo.dossier_url, passwords)

        # an earlier run stopped half-way: Fenna's dossier got no further than half of part A
        fenna = BY_NAME["Fenna"]
        async with ParentMailbox(demo) as mailbox:
            halfway = cast.Plan(fenna.plans[0].programme, cast.PART_A_HALF)
            assert await Story(api, mailbox, fenna, halfway, 30).run()

        done = await load_school(demo)
        assert any("ouder heeft gereageerd" in line for line in done)
        [fenna_line] = [line for line in done if line.startswith("Fenna Koster")]
        assert "dossier gestart" not in fenna_line and "afgehandeld door de mbo-instelling" in fenna_line

        async def mine(name: str) -> list[dict]:
            return (await api.dossier(BY_NAME[name].login, "GET", "/v1/dossiers"))["dossiers"]

        async def one(name: str) -> dict:
            [summary] = await mine(name)
            return await api.dossier(BY_NAME[name].login, "GET", f"/v1/dossiers/{summary['id']}")

        # the counsellor's tiles: every state, an archived and a handled dossier
        counts = await api.dossier(STAFF_EMAIL["counsellor"], "GET", "/v1/overviews/counts")
        assert {s["state"]: s["count"] for s in counts["states"]} == {
            "part_a": 2, "part_b": 3, "agreement": 2, "completed": 5}
        assert counts["archived"] == 1 and counts["completed_handled"] == 1

        # the mentor of 4a: Lotte waits for part B, Milan's part B is under way
        worklist = await api.dossier(STAFF_EMAIL["mentor_4a"], "POST", "/v1/overviews/worklist/search", {})
        assert sorted(d["student_name"] for d in worklist["dossiers"]) == ["Lotte Visser", "Milan Bos"]

        # the MBO Utrecht inbox: three completed dossiers, one handled, Tim's with a warm handover
        inbox = (await api.dossier(STAFF_EMAIL["mbo_staff"], "POST", "/v1/mbo/dossiers/search", {}))["dossiers"]
        assert sorted((d["student_name"], d["handled"]) for d in inbox) == [
            ("Fenna Koster", True), ("Tim Hendriks", False), ("Youssef Amrani", False)]
        assert [d["warm_handover"] for d in inbox if d["student_name"] == "Tim Hendriks"] == [True]

        # a HAVO school that takes part has Bram's dossier in its inbox; Noa's VMBO school does not take
        # part: nobody there gets it, and her dossier says she hands over the PDF herself
        havo = (await api.dossier(STAFF_EMAIL["havo_staff"], "POST", "/v1/mbo/dossiers/search", {}))["dossiers"]
        assert [(d["student_name"], d["handled"]) for d in havo] == [("Bram Dekker", False)]
        noa = await one("Noa")
        assert noa["state"] == "completed" and noa["choice"]["participates"] is False
        assert noa["choice"]["kind"] == "vmbo"

        # the parents' say: Sara's parent consented with a remark; Youssef's objected and he completed
        sara, youssef = await one("Sara"), await one("Youssef")
        assert sara["state"] == "agreement" and sara["agreement"]["parent"]["decision"] == "consent"
        assert "trots" in sara["agreement"]["parent"]["remark"] and sara["agreement"]["remark"]
        assert youssef["state"] == "completed" and youssef["agreement"]["parent"]["decision"] == "objection"

        # two dossiers each: Roos (agreement, part A half done), Luuk (one archived)
        assert sorted(d["state"] for d in await mine("Roos")) == ["agreement", "part_a"]
        assert sorted((d["state"], d["archived"]) for d in await mine("Luuk")) == [("part_b", False),
                                                                                   ("part_b", True)]
        assert len(await mine("Fenna")) == 1, "the half-way run was completed, not repeated"
        assert (await one("Emma"))["step_progress"] not in (0, 100)

        assert await load_school(demo) == [], "a second run finds every dossier where it belongs"
        assert len(await mine("Roos")) == 2
