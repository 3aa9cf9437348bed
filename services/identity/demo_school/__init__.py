"""The living demo school: after demo.py's identity data, students with accounts whose dossiers
stand in every state of the workflow, made through the services' real HTTP APIs (see README, "Try
it: the demo"). ``load_school`` drives them; a second run finds everything done and changes nothing.

* ``cast``: who the students are and how far each dossier goes;
* ``accounts``: the students on the roster, with accounts (identity's own data);
* ``stories``: one dossier driven to its target, step by step, as the people would in the portal;
* ``client``: the HTTP calls; ``parent_links``: the parents' links from the events.
"""
from __future__ import annotations

import aiohttp

from services.identity.demo import STAFF
from services.identity.demo_school import cast
from services.identity.demo_school.client import Api, ApiProblem, DemoFailed
from services.identity.demo_school.parent_links import ParentMailbox
from services.identity.demo_school.settings import DemoSettings
from services.identity.demo_school.stories import Story


async def load_school(settings: DemoSettings) -> list[str]:
    """Drive every demo dossier to its target; answers what this run did, a line per dossier it changed
    (empty: nothing was missing)."""
    passwords = {s[3]: s[5] for s in STAFF} | {s.login: cast.PASSWORD for s in cast.STUDENTS}
    done: list[str] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http, \
            ParentMailbox(settings) as mailbox:
        api = Api(http, settings.identity_url, settings.dossier_url, passwords)
        for student in cast.STUDENTS:
            for plan in student.plans:
                try:
                    steps = await Story(api, mailbox, student, plan, settings.demo_wait_seconds).run()
                except ApiProblem as problem:
                    raise DemoFailed(f"{student.name}, {plan.programme.name}: een dienst weigerde een stap "
                                     f"({problem}). Draaien alle diensten dezelfde versie? Laad de demo daarna "
                                     "opnieuw: wat er al staat, blijft staan.") from None
                if steps:
                    what = ", ".join(steps) if len(steps) < 3 else f"{steps[0]} … {steps[-1]} ({len(steps)} stappen)"
                    done.append(f"{student.name}, {plan.programme.name}: {what}")
    return done


TARGET_LABELS = {
    cast.PART_A_HALF: "deel A half ingevuld", cast.WAITING_FOR_MENTOR: "deel A verstuurd, wacht op de mentor",
    cast.ARCHIVED: "gearchiveerd", cast.PART_B: "de mentor vult deel B in",
    cast.AGREEMENT: "akkoordverklaring: de leerling is aan de beurt",
    cast.PARENT_REACTED: "akkoordverklaring, de ouder heeft gereageerd",
    cast.COMPLETED: "afgerond, in de inbox van de mbo-instelling", cast.HANDLED: "afgerond en afgehandeld door het mbo",
}


def summary(done: list[str]) -> str:
    """What the demo school holds now (the students log in with cast.PASSWORD), and what this run did."""
    lines = [f"\nDe leerlingen met een account (wachtwoord {cast.PASSWORD}) en hun dossiers:"]
    for s in cast.STUDENTS:
        plans = "; ".join(f"{p.programme.name} ({p.programme.institution}): {TARGET_LABELS[p.target]}"
                          for p in s.plans)
        lines.append(f"  {s.name:<15} klas {s.class_name}  {s.login:<32} {plans}")
    if done:
        lines += ["", f"Deze keer gedaan, via de API's van de diensten ({len(done)} dossiers):",
                  *(f"  - {line}" for line in done)]
    else:
        lines += ["", "Niets veranderd: alle demodossiers stonden al waar ze horen."]
    return "\n".join(lines)
