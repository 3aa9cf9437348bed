"""One demo dossier driven to its target through dossier's API, step by step as the people do it
in the portal: the student fills in and sends part A, the mentor fills in and sends part B, the
student agrees and sends a parent the link, the parent reacts, the student completes, the MBO
handles it. Each step first looks whether it was done already (an earlier run, perhaps one that
stopped half-way), so a run only does what is missing."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from services.identity.demo import MENTOR_OF, STAFF
from services.identity.demo_school import answers, cast
from services.identity.demo_school.client import Api, ApiProblem, DemoFailed, until
from services.identity.demo_school.parent_links import ParentMailbox

MBO_STAFF = next(s[3] for s in STAFF if s[0] == "mbo_staff")
STATE_ORDER = {"part_a": 0, "part_b": 1, "agreement": 2, "completed": 3}

_TO_AGREEMENT = ("begin_part_a", "finish_part_a", "submit", "start_part_b", "guidance", "assessment", "send_part_b")
_TO_COMPLETED = _TO_AGREEMENT + ("remark", "parent_link", "parent_reaction", "complete")
ROUTES: dict[str, tuple[str, ...]] = {
    cast.PART_A_HALF: ("begin_part_a",),
    cast.WAITING_FOR_MENTOR: ("begin_part_a", "finish_part_a", "submit"),
    cast.ARCHIVED: ("begin_part_a", "finish_part_a", "submit", "archive"),
    cast.PART_B: ("begin_part_a", "finish_part_a", "submit", "start_part_b", "guidance"),
    cast.AGREEMENT: _TO_AGREEMENT,
    cast.PARENT_REACTED: _TO_AGREEMENT + ("remark", "parent_link", "parent_reaction"),
    cast.COMPLETED: _TO_COMPLETED,
    cast.HANDLED: _TO_COMPLETED + ("handled",),
}
SAID = {
    "created": "dossier gestart", "begin_part_a": "deel A half ingevuld", "finish_part_a": "deel A helemaal ingevuld",
    "submit": "deel A verstuurd naar de mentor", "archive": "gearchiveerd door de mentor",
    "start_part_b": "deel B gestart door de mentor", "guidance": "begeleiding (deel B) ingevuld",
    "assessment": "inschatting en advies (deel B) ingevuld", "send_part_b": "deel B verstuurd naar de leerling",
    "remark": "opmerking bij deel B gezet", "parent_link": "link gestuurd aan de ouder",
    "parent_reaction": "de ouder heeft gereageerd", "complete": "afgerond: naar de mbo-instelling",
    "handled": "afgehandeld door de mbo-instelling",
}


@dataclass
class Story:
    api: Api
    mailbox: ParentMailbox
    student: cast.Student
    plan: cast.Plan
    timeout: float
    done: list[str] = field(default_factory=list)  # the steps this run did, in Dutch
    dossier_id: uuid.UUID | None = None
    link_sent: bool = False  # in this run

    @property
    def me(self) -> str:
        return self.student.login

    @property
    def mentor(self) -> str:
        return MENTOR_OF[self.student.class_name]

    def path(self, tail: str = "") -> str:
        return f"/v1/dossiers/{self.dossier_id}{tail}"

    async def view(self, who: str | None = None) -> dict:
        return await self.api.dossier(who or self.me, "GET", self.path())

    def said(self, step: str) -> None:
        self.done.append(SAID[step])

    async def run(self) -> list[str]:
        await self.find_or_create()
        for step in ROUTES[self.plan.target]:
            view = await self.view()
            if not await self.is_done(step, view):
                await getattr(self, step)(view)
                self.said(step)
        return self.done

    # -- the dossier of this plan --------------------------------------------------------------

    async def find_or_create(self) -> None:
        mine = (await self.api.dossier(self.me, "GET", "/v1/dossiers"))["dossiers"]
        for d in mine:
            if (d.get("institution_name"), d.get("programme_name")) == (self.plan.programme.institution,
                                                                        self.plan.programme.name):
                self.dossier_id = uuid.UUID(d["id"])
                return

        async def create() -> dict | None:
            try:
                return await self.api.dossier(self.me, "POST", "/v1/dossiers", {"choice": self.plan.programme.choice})
            except ApiProblem as problem:  # the student or the programme not known yet (events under way)
                if problem.status in (409, 422):
                    return None
                raise

        created = await until(f"{self.student.name} of de opleiding {self.plan.programme.name}", create, self.timeout)
        self.dossier_id = uuid.UUID(created["id"])
        self.said("created")

    # -- has a step been done? ----------------------------------------------------------------

    async def is_done(self, step: str, view: dict) -> bool:
        state = STATE_ORDER[view["state"]]
        parent = view["agreement"]["parent"]
        if step == "begin_part_a":
            return state > 0 or view["archived"] or all(view["versions"].get(s, 0) for s in answers.PART_A_HALF)
        if step == "finish_part_a":
            return state > 0 or view["archived"] or all(
                view["versions"].get(s, 0) for s in answers.part_a(self.student, self.plan))
        if step == "submit":
            return view["submitted_at"] is not None
        if step == "archive":
            return view["archived"]
        if step == "start_part_b":
            return state > 1 or view["part_b_started"]
        if step in ("guidance", "assessment"):
            if state > 1:
                return True
            mentor_view = await self.view(self.mentor)
            part = mentor_view["part_b_student" if step == "guidance" else "part_b_dossier"] or {}
            return bool(part.get("guidance" if step == "guidance" else "assessment_advice"))
        if step == "send_part_b":
            return state > 1
        if step == "remark":
            return state > 2 or not self.plan.remark or bool(view["agreement"]["remark"])
        if step == "parent_link":
            return state > 2 or parent["informed_at"] is not None
        if step == "parent_reaction":
            return state > 2 or self.plan.parent is None or parent["decision"] is not None
        if step == "complete":
            return state > 2
        if step == "handled":
            return view["handled_at"] is not None
        raise ValueError(step)

    # -- the student ------------------------------------------------------------------------------

    async def _save_part_a(self, view: dict, sections) -> None:
        all_answers = answers.part_a(self.student, self.plan)
        for section in sections:
            await self.api.dossier(self.me, "PUT", self.path(f"/part-a/{section}"), {"answers": all_answers[section]},
                                   version=view["versions"].get(section, 0))

    async def begin_part_a(self, view: dict) -> None:
        await self._save_part_a(view, answers.PART_A_HALF)

    async def finish_part_a(self, view: dict) -> None:
        await self._save_part_a(view, [s for s in answers.part_a(self.student, self.plan)
                                       if not view["versions"].get(s, 0) or s == "follow_up_programme"])

    async def submit(self, view: dict) -> None:
        async def mentors() -> list | None:
            return (await self.api.dossier(self.me, "GET", "/v1/me/mentors"))["mentors"] or None

        mentor = (await until(f"de mentor van klas {self.student.class_name}", mentors, self.timeout))[0]
        await self.api.dossier(self.me, "POST", self.path("/submit"), {"mentor_id": mentor["staff_id"]},
                               version=view["version"])

    async def remark(self, view: dict) -> None:
        await self.api.dossier(self.me, "PUT", self.path("/agreement"), {"remark": self.plan.remark},
                               version=view["version"])

    async def parent_link(self, view: dict) -> None:
        await self.api.dossier(self.me, "POST", self.path("/parent-link"), {}, version=view["version"])
        self.link_sent = True

    async def complete(self, view: dict) -> None:
        await self.api.dossier(self.me, "POST", self.path("/complete"), {}, version=view["version"])

    # -- the mentor --------------------------------------------------------------------------------

    async def archive(self, view: dict) -> None:
        view = await self.view(self.mentor)
        await self.api.dossier(self.mentor, "POST", self.path("/archive"), {}, version=view["version"])

    async def start_part_b(self, view: dict) -> None:
        view = await self.view(self.mentor)
        await self.api.dossier(self.mentor, "POST", self.path("/part-b/start"), {}, version=view["version"])

    async def guidance(self, view: dict) -> None:
        view = await self.view(self.mentor)
        await self.api.dossier(self.mentor, "PUT", self.path("/part-b/guidance"), {"answers": answers.GUIDANCE},
                               version=view["versions"].get("guidance", 0))

    async def assessment(self, view: dict) -> None:
        view = await self.view(self.mentor)
        mentor_name = (view.get("mentor") or {}).get("name") or "mentor"
        await self.api.dossier(self.mentor, "PUT", self.path("/part-b/assessment_advice"),
                               {"answers": answers.assessment(self.student, self.plan, mentor_name, self.mentor)},
                               version=view["versions"].get("assessment_advice", 0))

    async def send_part_b(self, view: dict) -> None:
        view = await self.view(self.mentor)
        await self.api.dossier(self.mentor, "POST", self.path("/send-part-b"), {}, version=view["version"])

    # -- the parent and the MBO ------------------------------------------------------------------

    async def parent_reaction(self, view: dict) -> None:
        assert self.dossier_id is not None and self.plan.parent is not None
        if not self.link_sent:  # the link went out in an earlier run and is gone: the parent asks for a new one
            await self.parent_link(view)
        token = await self.mailbox.token_for(self.dossier_id, timeout=self.timeout)
        if token is None:
            raise DemoFailed(f"De link voor de ouder van {self.student.name} kwam niet binnen {self.timeout:.0f} s "
                             "als event binnen. Draaien dossier en RabbitMQ, en hebben de demo en de diensten "
                             "dezelfde EVENT_EXCHANGE en EVENT_SEAL_KEY? Laad de demo daarna opnieuw.")
        link = {"X-Parent-Token": token}
        parent_view = await self.api.dossier(None, "GET", "/v1/parent/dossier", headers=link)
        decision, remark = self.plan.parent
        await self.api.dossier(None, "POST", "/v1/parent/decision", {"decision": decision, "remark": remark or None},
                               version=parent_view["version"], headers=link)

    async def handled(self, view: dict) -> None:
        await self.api.dossier(MBO_STAFF, "POST", "/v1/mbo/dossiers/search", {"handled": False})  # the inbox
        view = await self.view(MBO_STAFF)
        await self.api.dossier(MBO_STAFF, "POST", f"/v1/mbo/dossiers/{self.dossier_id}/handled", {},
                               version=view["version"])
