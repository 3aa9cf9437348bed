"""The season bench's four phases, each an open loop (bench/openloop.py ``at_rate``) of units of work
(a school, a student, a dossier) at the phase's rate; within a unit the person waits for each answer
and for their mails, as in the portal. Every request is timed by kind in the client's recorder."""
from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import replace

from bench.openloop import RateResult, RateRun, at_rate, summarize
from bench.season_mail import Mailbox
from bench.season_plan import SeasonPlan, valid_bsn
from bench.season_world import (
    FIRST,
    LAST,
    PASSWORD,
    ApiError,
    Client,
    Mbo,
    VoSchool,
    accept_invitation,
    class_of,
    parent_email,
    roster_csv,
    student_email,
)
from bench.season_world import mentor_email as mentor_of
from tests.support.answers import GUIDANCE, PART_A

ASSESSMENT = {"argumentatie": "Past goed bij de leerling.", "advies": "positive", "opp": False, "contactnodig": False}
SETTLE = 600.0  # seconds a phase waits for its last units after the last one was sent


def loop(fire, phase) -> Awaitable[RateRun]:
    """The phase's open loop: exactly ``phase.units`` units at ``phase.rate`` (at_rate sends
    int(rate * seconds); the float product can fall just short)."""
    return at_rate(fire, phase.rate, phase.seconds * (1 + 1e-6), settle=SETTLE)


class World:
    def __init__(self, plan: SeasonPlan, client: Client, box: Mailbox, schools: list[VoSchool], mbos: list[Mbo]):
        self.plan, self.client, self.box, self.schools, self.mbos = plan, client, box, schools, mbos
        self.dossiers: dict[int, str] = {}  # student -> completed dossier id
        self.completed = 0
        self.create_retries = 0
        self.mailed: Counter[str] = Counter()  # mails the season asked for, by kind, counted on each success

    def mbo_of(self, i: int) -> Mbo:
        return self.mbos[self.plan.mbo_of(i)]

    async def guarded(self, kind: str, coro) -> float:
        """A unit of work; a failure counts under ``kind`` (and the open loop's errors)."""
        try:
            await coro
        except BaseException as exc:
            self.client.recorder.failed(kind, exc)
            raise
        return time.time()


# --------------------------------------------------------------------------- a) codes


async def school_codes(w: World, s: int) -> None:
    c, box, school = w.client, w.box, w.schools[s]
    admin = await c.login(school.school_admin)
    job = await c.call("roster import (upload)", "POST", c.identity + "/v1/roster/imports", token=admin,
                       data=roster_csv(w.plan, s), headers={"Content-Type": "text/csv"}, ok=(201, 202))
    started = time.perf_counter()
    while job["state"] not in ("done", "failed"):
        await asyncio.sleep(0.2)
        job = await c.call(None, "GET", f"{c.identity}/v1/roster/imports/{job['import_id']}", token=admin)
    if job["state"] != "done":
        raise RuntimeError(f"roster import failed: {job}")
    c.recorder.add("roster import (until done)", time.perf_counter() - started)
    staff = (await c.call("staff list", "GET", c.identity + "/v1/staff", token=admin))["staff"]

    async def mentor(m: dict) -> None:
        sent = time.time()
        await c.call("invite mentor", "POST", f"{c.identity}/v1/staff/{m['staff_id']}/invitation", token=admin,
                     json={}, ok=(200, 201, 202))
        w.mailed["invitation"] += 1
        await accept_invitation(c, box, m["email"], sent)
    await asyncio.gather(*(mentor(m) for m in staff if m["role"] == "mentor"))
    counsellor = await c.login(school.counsellor)
    sent = time.time()
    issued = await c.call("issue codes (bulk)", "POST", c.identity + "/v1/activation-codes", token=counsellor,
                          json={"channel": "email", "school_year": 4}, ok=(201,))
    w.mailed["code"] += len(issued["issued"])
    students = w.plan.students_of(s)
    if len(issued["issued"]) != len(students):
        raise RuntimeError(f"{len(issued['issued'])} codes issued for {len(students)} students")
    mails = await asyncio.gather(*(box.wait("code", student_email(i), timeout=SETTLE) for i in students))
    received = [t for t, _ in mails]
    for t in received:
        c.recorder.add("issue -> code mail", t - sent)
    w.code_batches.append((len(received), max(received) - sent))


async def phase_codes(w: World) -> RateRun:
    w.code_batches = []
    phase = w.plan.phase("a")
    return await loop(lambda s: w.guarded("school", school_codes(w, s)), phase)


# --------------------------------------------------------------------------- b) registrations


async def register(w: World, i: int) -> None:
    c, box, email = w.client, w.box, student_email(i)
    await c.call("register (HTTP)", "POST", c.identity + "/v1/registrations",
                 json={"bsn": valid_bsn(i), "email": email}, ok=(202,))
    w.mailed["verification"] += 1
    received, body = await box.wait("verification", email)
    w.verification_mails[i] = received
    await c.call("confirm (password)", "POST", c.identity + "/v1/registrations/confirm",
                 json={"token": box.token(body), "password": PASSWORD})
    token = await c.login(email)
    _, code_mail = await box.wait("code", email)
    await c.call("redeem code", "POST", c.identity + "/v1/activation-codes/redeem", token=token,
                 json={"code": box.code(code_mail)})


async def phase_registrations(w: World) -> tuple[RateRun, RateResult]:
    """The open loop of students, and its latency from each registration's intended send time to its
    verification mail at the sink (the issue's HTTP -> mail target)."""
    phase = w.plan.phase("b")
    w.verification_mails = {}
    run = await loop(lambda i: w.guarded("student", register(w, i)), phase)
    return run, summarize(replace(run, done=list(run.done)), w.verification_mails)


# --------------------------------------------------------------------------- c) dossiers


async def journey(w: World, i: int) -> None:
    c, box, plan = w.client, w.box, w.plan
    school = w.schools[plan.school_of(i)]
    mbo = w.mbo_of(i)
    programme_id, crebo = mbo.programmes[i % len(mbo.programmes)]
    choice = {"institution_id": mbo.school_id, "programme_id": programme_id, "crebo": crebo}
    me = await c.login(student_email(i), fresh=True)
    d = None
    for attempt in range(200):  # the student known to dossier a moment after the code (events under way)
        try:
            d = await c.call("create dossier", "POST", c.dossier + "/v1/dossiers", token=me, json={"choice": choice},
                             ok=(201,))
            break
        except ApiError as exc:
            if exc.status not in (409, 422) or attempt == 199:
                raise
            w.create_retries += 1
            await asyncio.sleep(0.1)
    dossier, versions = d["id"], d["versions"]
    url = f"{c.dossier}/v1/dossiers/{dossier}"
    sections = {**PART_A, "follow_up_programme": {"keuzevervolgopleiding": choice, "first_choice": True}}
    for section, answers in sections.items():
        saved = await c.call("part A save", "PUT", f"{url}/part-a/{section}", token=me,
                             version=versions.get(section, 0), json={"answers": answers})
    mentors = (await c.call("read", "GET", c.dossier + "/v1/me/mentors", token=me))["mentors"]
    sent = time.time()
    await c.call("submit", "POST", f"{url}/submit", token=me, version=saved["dossier_version"],
                 json={"mentor_id": mentors[0]["staff_id"]})
    w.mailed["part_a_submitted"] += 1
    mentor_email = mentor_of(school.n, class_of(plan, i))
    received, _ = await box.wait("part_a_submitted", mentor_email, about=dossier)
    c.recorder.add("submit -> mentor mail", received - sent)

    mentor = await c.login(mentor_email)
    await c.call("search", "GET", c.dossier + "/v1/overviews/worklist", token=mentor)
    view = await c.call("read", "GET", url, token=mentor)
    view = await c.call("part B step", "POST", f"{url}/part-b/start", token=mentor, version=view["version"], json={})
    await c.call("part B save", "PUT", f"{url}/part-b/guidance", token=mentor,
                 version=view["versions"].get("guidance", 0), json={"answers": GUIDANCE})
    saved = await c.call("part B save", "PUT", f"{url}/part-b/assessment_advice", token=mentor,
                         version=view["versions"].get("assessment_advice", 0), json={"answers": ASSESSMENT})
    sent = time.time()
    view = await c.call("part B step", "POST", f"{url}/send-part-b", token=mentor, version=saved["dossier_version"],
                        json={})
    w.mailed["part_b_sent"] += 1
    received, _ = await box.wait("part_b_sent", student_email(i))
    c.recorder.add("send part B -> student mail", received - sent)

    view = await c.call("agreement step", "PUT", f"{url}/agreement", token=me, version=view["version"],
                        json={"remark": "Eens."})
    if school.consent:
        sent = time.time()
        view = await c.call("agreement step", "POST", f"{url}/parent-link", token=me, version=view["version"],
                            json={"parent_email": parent_email(i)})
        w.mailed["parent_review"] += 1
        received, body = await box.wait("parent_review", parent_email(i))
        c.recorder.add("parent link -> parent mail", received - sent)
        link = {"X-Parent-Token": box.token(body)}
        view = await c.call("read", "GET", c.dossier + "/v1/parent/dossier", headers=link)
        view = await c.call("agreement step", "POST", c.dossier + "/v1/parent/decision", headers=link,
                            version=view["version"], json={"decision": "consent", "remark": None})
        w.mailed["parent_responded"] += 1
        await box.wait("parent_responded", student_email(i))
    view = await c.call("agreement step", "POST", f"{url}/complete", token=me, version=view["version"], json={})
    if view["state"] != "completed":
        raise RuntimeError(f"dossier {dossier} is {view['state']}")
    w.dossiers[i] = dossier


async def staff_search(w: World, rng: random.Random) -> None:
    """A counsellor's "mijn leerlingen" search by a name fragment (one per dossier, beside the journeys)."""
    c = w.client
    school = w.schools[rng.randrange(len(w.schools))]
    token = await c.login(school.counsellor)
    word = rng.choice(FIRST + LAST).lower()
    await c.call("search", "POST", c.dossier + "/v1/overviews/students/search", token=token,
                 json={"q": word[:rng.randint(3, 5)]})


async def phase_dossiers(w: World) -> tuple[RateRun, RateRun]:
    phase = w.plan.phase("c")
    rng = random.Random(14)

    async def searches() -> RateRun:
        return await loop(lambda _: w.guarded("search", staff_search(w, rng)), phase)
    journeys, searched = await asyncio.gather(
        loop(lambda i: w.guarded("dossier", journey(w, i)), phase), searches())
    return journeys, searched


# --------------------------------------------------------------------------- d) MBO handling


async def handle(w: World, i: int) -> None:
    c = w.client
    dossier = w.dossiers.get(i)
    if dossier is None:
        raise RuntimeError(f"student {i} has no completed dossier")
    token = await c.login(w.mbo_of(i).staff)
    await c.call("search", "POST", c.dossier + "/v1/mbo/dossiers/search", token=token, json={"handled": False})
    view = await c.call("read", "GET", f"{c.dossier}/v1/dossiers/{dossier}", token=token)
    await c.call("handled", "POST", f"{c.dossier}/v1/mbo/dossiers/{dossier}/handled", token=token,
                 version=view["version"], json={})


async def phase_mbo(w: World) -> RateRun:
    phase = w.plan.phase("d")
    return await loop(lambda i: w.guarded("dossier", handle(w, i)), phase)
