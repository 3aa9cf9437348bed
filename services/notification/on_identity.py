"""Mails for identity's events: account, password, invitation and activation-code mails."""
from __future__ import annotations

import asyncpg

from services.notification.deliveries import create_delivery
from services.notification.templates import SIGNATURE, Mail, day, template, when
from shared.auth import ROLE_LABELS
from shared.consumer import Subscription
from shared.events.envelope import Envelope
from shared.events.identity_events import (AccountExistsNotice, ActivationCodeIssued, BsnClaimReleased, PasswordChanged,
                                           PasswordResetRequested, StaffInvited, VerificationRequested)


# --- templates ------------------------------------------------------------------------------------


@template("verification")
def verification(ctx: dict) -> Mail:
    return Mail(
        subject="Bevestig je e-mailadres voor Doorstroom",
        body=("Hallo,\n\nJe hebt een account aangemaakt voor het digitaal doorstroomdossier. "
              "Klik op de link hieronder om je e-mailadres te bevestigen en een wachtwoord te kiezen:\n\n"
              f"{ctx['verify_url']}\n\n"
              f"De link werkt één keer en is geldig tot {when(ctx['expires_at'])}. "
              "Heb je dit niet zelf aangevraagd? Dan kun je deze e-mail negeren." + SIGNATURE))


@template("bsn_claim_released")
def bsn_claim_released(ctx: dict) -> Mail:
    return Mail(
        subject="Je account bij Doorstroom is niet meer aan een leerling gekoppeld",
        body=("Hallo,\n\nBij het aanmaken van je account voor het digitaal doorstroomdossier gaf je een "
              "burgerservicenummer (BSN) op. Op " + when(ctx["released_at"]) + " is met de activatiecode van de "
              "leerling met dat BSN een ander account gekoppeld. Daarom hoort dat BSN niet meer bij jouw account.\n\n"
              "Was jij dat, met een ander e-mailadres? Log dan voortaan in met dat e-mailadres:\n"
              f"{ctx['login_url']}\n\n"
              "Was jij het niet? Neem dan meteen contact op met je mentor of decaan: iemand anders heeft jouw "
              "activatiecode gebruikt. De school kan je een nieuwe code geven." + SIGNATURE))


@template("account_exists")
def account_exists(ctx: dict) -> Mail:
    return Mail(
        subject="Je hebt al een account bij Doorstroom",
        body=("Hallo,\n\nIemand probeerde zojuist een nieuw account aan te maken voor het digitaal "
              "doorstroomdossier met jouw e-mailadres of burgerservicenummer. Er is al een account: "
              "je hoeft geen nieuw account te maken.\n\n"
              f"Inloggen kan hier:\n{ctx['login_url']}\n\n"
              f"Weet je je wachtwoord niet meer? Vraag dan een nieuw wachtwoord aan:\n{ctx['reset_url']}\n\n"
              "Was jij dit niet? Dan hoef je niets te doen: er is niets aan je account veranderd." + SIGNATURE))


@template("password_reset")
def password_reset(ctx: dict) -> Mail:
    return Mail(
        subject="Kies een nieuw wachtwoord voor Doorstroom",
        body=("Hallo,\n\nJe hebt gevraagd om een nieuw wachtwoord voor het digitaal doorstroomdossier. "
              "Klik op de link hieronder om een nieuw wachtwoord te kiezen:\n\n"
              f"{ctx['reset_url']}\n\n"
              f"De link werkt één keer en is geldig tot {when(ctx['expires_at'])}. "
              "Heb je dit niet zelf gevraagd? Dan kun je deze e-mail negeren: je wachtwoord blijft hetzelfde."
              + SIGNATURE))


@template("password_changed")
def password_changed(ctx: dict) -> Mail:
    return Mail(
        subject="Je wachtwoord voor Doorstroom is gewijzigd",
        body=("Hallo,\n\n"
              f"Het wachtwoord van je account is gewijzigd op {when(ctx['changed_at'])}. Je bent daarom overal "
              "uitgelogd; log opnieuw in met je nieuwe wachtwoord.\n\n"
              "Heb je dit niet zelf gedaan? Vraag dan meteen een nieuw wachtwoord aan via 'wachtwoord vergeten' "
              "op de inlogpagina, en laat het je school weten." + SIGNATURE))


@template("staff_invitation")
def staff_invitation(ctx: dict) -> Mail:
    school = f" van {ctx['school_name']}" if ctx.get("school_name") else ""
    return Mail(
        subject="Uitnodiging voor het digitaal doorstroomdossier",
        body=(f"Beste {ctx['name']},\n\n"
              f"Je bent toegevoegd als {ctx['role_label']}{school} in het digitaal doorstroomdossier. "
              "Klik op de link hieronder om een wachtwoord te kiezen; daarna log je in met je e-mailadres "
              "en dat wachtwoord:\n\n"
              f"{ctx['accept_url']}\n\n"
              f"De link werkt één keer en is geldig tot {when(ctx['expires_at'])}. Is hij verlopen? "
              "Vraag dan je schoolbeheerder om een nieuwe uitnodiging." + SIGNATURE))


@template("activation_code")
def activation_code(ctx: dict) -> Mail:
    """The manual's instructions (1.1, steps 1-7) with the student's code filled in, in the words of
    the portal's pages: each quoted name is a page, button or link the student finds there."""
    return Mail(
        subject="Je activatiecode voor het digitaal doorstroomdossier",
        body=(f"Beste {ctx['student_name']},\n\n"
              f"{ctx['school_name']} nodigt je uit om je digitaal doorstroomdossier te maken. Daarmee meld je je "
              "aan bij je vervolgopleiding. Zo begin je:\n\n"
              f"1. Ga naar de pagina 'Maak een nieuw account': {ctx['register_url']}\n"
              "2. Vul je BSN en e-mailadres in en klik op 'Account maken'.\n"
              "3. Ga naar je e-mail en klik op de link die we je hebben gestuurd.\n"
              "4. Verzin een wachtwoord dat aan de eisen voldoet (en onthoud het goed) en klik op "
              "'Account activeren'.\n\n"
              "Je hebt nu een account. De volgende stap is het starten van een digitaal doorstroomdossier:\n\n"
              "5. Log in met je e-mailadres en wachtwoord ('Inloggen') en klik op 'Nieuw dossier'.\n"
              f"6. Vul de volgende activatiecode in: {ctx['code']}\n"
              "7. Klik op de knop 'Nieuw dossier' om je digitaal doorstroomdossier te starten.\n\n"
              f"De activatiecode is persoonlijk, werkt één keer en is geldig tot en met {day(ctx['expires_at'])}. "
              "Heb je al een account? Log dan in en begin bij stap 5.\n\n"
              "Kom je er niet uit? Vraag je mentor of decaan om hulp." + SIGNATURE))


# --- handlers ------------------------------------------------------------------------------------
# Links and codes (sealed event fields) stay sealed in the delivery's context: templates.render
# opens them only to build the mail, and the context is emptied once the mail is sent.


async def on_verification_requested(conn: asyncpg.Connection, env: Envelope, data: VerificationRequested) -> None:
    await create_delivery(conn, event_id=env.id, template="verification", recipient=str(data.email),
                          context={"verify_url": data.verify_url.sealed(), "expires_at": data.expires_at.isoformat()})


async def on_account_exists(conn: asyncpg.Connection, env: Envelope, data: AccountExistsNotice) -> None:
    await create_delivery(conn, event_id=env.id, template="account_exists", recipient=str(data.email),
                          context={"login_url": data.login_url, "reset_url": data.reset_url})


async def on_bsn_claim_released(conn: asyncpg.Connection, env: Envelope, data: BsnClaimReleased) -> None:
    await create_delivery(conn, event_id=env.id, template="bsn_claim_released", recipient=str(data.email),
                          context={"released_at": data.released_at.isoformat(), "login_url": data.login_url})


async def on_password_reset_requested(conn: asyncpg.Connection, env: Envelope, data: PasswordResetRequested) -> None:
    await create_delivery(conn, event_id=env.id, template="password_reset", recipient=str(data.email),
                          context={"reset_url": data.reset_url.sealed(), "expires_at": data.expires_at.isoformat()})


async def on_password_changed(conn: asyncpg.Connection, env: Envelope, data: PasswordChanged) -> None:
    await create_delivery(conn, event_id=env.id, template="password_changed", recipient=str(data.email),
                          context={"changed_at": data.changed_at.isoformat()})


async def on_staff_invited(conn: asyncpg.Connection, env: Envelope, data: StaffInvited) -> None:
    await create_delivery(conn, event_id=env.id, template="staff_invitation", recipient=str(data.email), context={
        "name": data.name, "role_label": ROLE_LABELS[data.role], "school_name": data.school_name,
        "accept_url": data.accept_url.sealed(), "expires_at": data.expires_at.isoformat()})


async def on_activation_code_issued(conn: asyncpg.Connection, env: Envelope, data: ActivationCodeIssued) -> None:
    if data.channel != "email" or not data.email or not data.code:
        return  # letters are printed by the document service
    await create_delivery(conn, event_id=env.id, template="activation_code", recipient=str(data.email), context={
        "student_name": data.student_name, "school_name": data.school_name, "code": data.code.sealed(),
        "expires_at": data.expires_at.isoformat(), "register_url": data.register_url})


SUBSCRIPTIONS = [
    Subscription("identity.verification_requested", on_verification_requested),
    Subscription("identity.account_exists_notice", on_account_exists),
    Subscription("identity.bsn_claim_released", on_bsn_claim_released),
    Subscription("identity.password_reset_requested", on_password_reset_requested),
    Subscription("identity.password_changed", on_password_changed),
    Subscription("identity.staff_invited", on_staff_invited),
    Subscription("identity.activation_code_issued", on_activation_code_issued),
]
