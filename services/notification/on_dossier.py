"""Signal mails of the dossier workflow (manual chapters 2-4): to the mentor when part A arrives,
to the student when the dossier is put back to part A, when part B is sent and as a reminder of
the agreement, to a parent with their personal link, and to the student when a parent reacted.
A student is mailed at their own account's address, the roster's before there is an account (the
dossier service picks it); an event without a recipient address (none known) makes no mail."""
from __future__ import annotations

import asyncpg

from services.notification.deliveries import create_delivery
from services.notification.templates import SIGNATURE, Mail, template, when
from shared.consumer import Subscription
from shared.events.dossier_events import (
    AgreementReminderIssued,
    DossierResetToPartA,
    ParentResponded,
    ParentReviewRequested,
    PartASubmitted,
    PartBSent,
)
from shared.events.envelope import Envelope


@template("dossier_part_a_submitted")
def part_a_submitted(ctx: dict) -> Mail:
    choice = f" voor {ctx['choice_name']}" if ctx.get("choice_name") else ""
    klas = f" (klas {ctx['class_name']})" if ctx.get("class_name") else ""
    return Mail(
        subject=f"Deel A van {ctx['student_name']} staat voor u klaar",
        body=(f"Beste {ctx['mentor_name']},\n\n"
              f"{ctx['student_name']}{klas} heeft deel A van het digitaal doorstroomdossier{choice} ingevuld "
              "en naar u verstuurd. Het dossier staat nu bij 'Te behandelen dossiers'; u kunt deel B invullen:\n\n"
              f"{ctx['dossier_url']}" + SIGNATURE))


@template("dossier_reset_to_part_a")
def reset_to_part_a(ctx: dict) -> Mail:
    who = "Je hebt" if ctx["by_role"] == "student" else "Je mentor heeft"
    return Mail(
        subject="Je doorstroomdossier staat weer open in deel A",
        body=(f"Hallo {ctx['student_name']},\n\n"
              f"{who} je doorstroomdossier teruggezet naar deel A. Je kunt deel A nu aanpassen en daarna "
              "opnieuw naar je mentor versturen:\n\n"
              f"{ctx['dossier_url']}" + SIGNATURE))


@template("dossier_part_b_sent")
def part_b_sent(ctx: dict) -> Mail:
    mentor = ctx.get("mentor_name") or "Je mentor"
    return Mail(
        subject="Deel B is klaar: vul de akkoordverklaring in",
        body=(f"Hallo {ctx['student_name']},\n\n"
              f"{mentor} heeft deel B van je doorstroomdossier ingevuld en naar je opgestuurd. Lees deel A en "
              "deel B en vul daarna de akkoordverklaring in. Ben je het niet eens met deel B, neem dan contact "
              "op met je mentor of zet een opmerking bij de akkoordverklaring:\n\n"
              f"{ctx['dossier_url']}" + SIGNATURE))


@template("dossier_parent_review")
def parent_review(ctx: dict) -> Mail:
    if ctx["parent_rule"] == "consent":
        ask = ("Omdat uw kind jonger is dan 18 jaar, is ook uw toestemming nodig voordat het dossier naar de "
               "vervolgopleiding gaat. Via de link hieronder leest u het dossier en geeft u toestemming of "
               "maakt u bezwaar, eventueel met een opmerking.")
    else:
        ask = ("Omdat uw kind jonger is dan 18 jaar, kunt u het dossier inzien voordat het naar de "
               "vervolgopleiding gaat. Via de link hieronder leest u het dossier; als u het ergens niet mee eens "
               "bent, kunt u dat met een opmerking laten weten.")
    return Mail(
        subject=f"Het doorstroomdossier van {ctx['student_name']}",
        body=("Beste ouder of verzorger,\n\n"
              f"{ctx['student_name']} van {ctx['school_name']} heeft een digitaal doorstroomdossier ingevuld voor "
              f"de aanmelding bij een vervolgopleiding, en vraagt u het te bekijken. {ask}\n\n"
              f"{ctx['link_url']}\n\n"
              f"De link is persoonlijk: stuur hem niet door. Hij is geldig tot {when(ctx['expires_at'])}. "
              "Verwacht u deze e-mail niet? Dan kunt u hem negeren." + SIGNATURE))


@template("dossier_parent_responded")
def parent_responded(ctx: dict) -> Mail:
    if ctx["decision"] == "consent":
        what = "heeft toestemming gegeven om je doorstroomdossier te versturen. Je kunt het dossier nu afronden."
    else:
        what = ("heeft bezwaar gemaakt tegen het versturen van je doorstroomdossier. Lees de opmerking in je "
                "dossier en overleg met je mentor.")
    return Mail(
        subject="Je ouder of verzorger heeft op je doorstroomdossier gereageerd",
        body=f"Hallo {ctx['student_name']},\n\nJe ouder of verzorger {what}\n\n{ctx['dossier_url']}" + SIGNATURE)


@template("dossier_agreement_reminder")
def agreement_reminder(ctx: dict) -> Mail:
    since = f" Deel B staat al {ctx['waiting_days']} dagen voor je klaar." if ctx.get("waiting_days") else ""
    return Mail(
        subject="Herinnering: vul de akkoordverklaring van je doorstroomdossier in",
        body=(f"Hallo {ctx['student_name']},\n\n"
              "Je doorstroomdossier wacht nog op je akkoordverklaring." + since +
              " Lees deel A en deel B, vul de akkoordverklaring in en rond je dossier af, zodat je nieuwe "
              "school het kan ontvangen:\n\n"
              f"{ctx['dossier_url']}" + SIGNATURE))


async def on_part_a_submitted(conn: asyncpg.Connection, env: Envelope, data: PartASubmitted) -> None:
    if data.mentor_email:
        await create_delivery(conn, event_id=env.id, template="dossier_part_a_submitted", recipient=str(data.mentor_email),
                              context={"mentor_name": data.mentor_name, "student_name": data.student_name,
                                       "class_name": data.class_name, "choice_name": data.choice_name,
                                       "dossier_url": data.dossier_url})


async def on_reset_to_part_a(conn: asyncpg.Connection, env: Envelope, data: DossierResetToPartA) -> None:
    if data.student_email:
        await create_delivery(conn, event_id=env.id, template="dossier_reset_to_part_a", recipient=str(data.student_email),
                              context={"student_name": data.student_name, "by_role": data.by_role,
                                       "dossier_url": data.dossier_url})


async def on_part_b_sent(conn: asyncpg.Connection, env: Envelope, data: PartBSent) -> None:
    if data.student_email:
        await create_delivery(conn, event_id=env.id, template="dossier_part_b_sent", recipient=str(data.student_email),
                              context={"student_name": data.student_name, "mentor_name": data.mentor_name,
                                       "dossier_url": data.dossier_url})


async def on_parent_review_requested(conn: asyncpg.Connection, env: Envelope, data: ParentReviewRequested) -> None:
    await create_delivery(conn, event_id=env.id, template="dossier_parent_review", recipient=str(data.parent_email),
                          context={"student_name": data.student_name, "school_name": data.school_name,
                                   "parent_rule": data.parent_rule, "link_url": data.link_url.sealed(),
                                   "expires_at": data.expires_at.isoformat()})


async def on_parent_responded(conn: asyncpg.Connection, env: Envelope, data: ParentResponded) -> None:
    if data.student_email:
        await create_delivery(conn, event_id=env.id, template="dossier_parent_responded",
                              recipient=str(data.student_email),
                              context={"student_name": data.student_name, "decision": data.decision,
                                       "dossier_url": data.dossier_url})


async def on_agreement_reminder(conn: asyncpg.Connection, env: Envelope, data: AgreementReminderIssued) -> None:
    if data.student_email:
        await create_delivery(conn, event_id=env.id, template="dossier_agreement_reminder",
                              recipient=str(data.student_email),
                              context={"student_name": data.student_name, "waiting_days": data.waiting_days,
                                       "dossier_url": data.dossier_url})


SUBSCRIPTIONS: list[Subscription] = [
    Subscription("dossier.part_a_submitted", on_part_a_submitted),
    Subscription("dossier.reset_to_part_a", on_reset_to_part_a),
    Subscription("dossier.part_b_sent", on_part_b_sent),
    Subscription("dossier.parent_review_requested", on_parent_review_requested),
    Subscription("dossier.parent_responded", on_parent_responded),
    Subscription("dossier.agreement_reminder_issued", on_agreement_reminder),
]
