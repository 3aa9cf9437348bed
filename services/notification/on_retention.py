"""The notice of the retention rule: before the dossier service erases completed dossiers and the data
of students who left, the school admins (or, without any, the counsellors) get a mail saying how many,
from when, and where the portal lists them (dossier.retention_notice). The mail holds no names."""
from __future__ import annotations

import asyncpg

from services.notification.deliveries import create_delivery
from services.notification.templates import SIGNATURE, Mail, day, template
from shared.consumer import Subscription
from shared.events.dossier_events import RetentionNotice
from shared.events.envelope import Envelope


def _count(n: int, one: str, more: str) -> str:
    return f"{n} {one if n == 1 else more}"


@template("retention_notice")
def retention_notice(ctx: dict) -> Mail:
    what = []
    if ctx["dossiers"]:
        what.append(_count(ctx["dossiers"], "afgerond dossier", "afgeronde dossiers") + " waarvan de bewaartermijn "
                    "afloopt")
    if ctx["students"]:
        what.append(_count(ctx["students"], "leerling", "leerlingen") + " die de school "
                    f"{'heeft' if ctx['students'] == 1 else 'hebben'} verlaten, met account, dossiers en bestanden")
    years = _count(ctx["retention_years"], "schooljaar", "schooljaren")
    return Mail(
        subject=f"Vanaf {day(ctx['erase_on'])} verwijdert Doorstroom gegevens van {ctx['school_name']}",
        body=("Hallo,\n\n"
              f"{ctx['school_name']} bewaart dossiers en leerlinggegevens in Doorstroom {years} na het schooljaar "
              "waarin een dossier is afgerond of een leerling de school heeft verlaten. Daarna worden ze definitief "
              f"verwijderd. Vanaf {day(ctx['erase_on'])} gaat het om:\n\n"
              + "".join(f"- {w}\n" for w in what) +
              f"\nWelke dossiers en leerlingen dit zijn, ziet u in Doorstroom:\n{ctx['overview_url']}\n\n"
              "Moet iets langer bewaard blijven, bijvoorbeeld omdat er nog een vraag of klacht over loopt? Pas dan "
              "vóór die datum de bewaartermijn aan bij 'Instellingen van de school'. Na het verwijderen is niets "
              "meer terug te halen; u ziet dan alleen nog hoeveel er is verwijderd." + SIGNATURE))


async def on_retention_notice(conn: asyncpg.Connection, env: Envelope, data: RetentionNotice) -> None:
    context = {"school_name": data.school_name, "retention_years": data.retention_years,
               "erase_on": data.erase_on.isoformat(), "dossiers": data.dossiers, "students": data.students,
               "overview_url": data.overview_url}
    for recipient in dict.fromkeys(str(r).lower() for r in data.recipients):
        await create_delivery(conn, event_id=env.id, template="retention_notice", recipient=recipient,
                              context=context)


SUBSCRIPTIONS = [Subscription("dossier.retention_notice", on_retention_notice)]
