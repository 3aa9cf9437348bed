"""The words people read on the start and help pages: the manual's steps (chapter 1.1) with
the "?" explanation of each, and the frequently asked questions."""
from __future__ import annotations

STEPS: list[tuple[str, str]] = [
    ("Klik op 'Maak een nieuw account'.",
     "Je hebt één account nodig voor al je dossiers. Heb je al een account? Log dan in."),
    ("Vul je BSN en e-mail in.",
     "Je BSN (burgerservicenummer) staat op je paspoort of identiteitskaart. Het is een nummer van "
     "9 cijfers. We gebruiken het alleen om te controleren dat jouw activatiecode bij jou hoort; het staat "
     "nooit in een e-mail. Gebruik een e-mailadres dat je zelf leest."),
    ("Ga naar je e-mail en klik op de link die we je hebben gestuurd.",
     "Geen e-mail gekregen? Kijk ook in je map met ongewenste e-mail. De link werkt één keer en "
     "is maar een paar dagen geldig. Is hij verlopen, maak dan opnieuw een account aan met "
     "hetzelfde e-mailadres."),
    ("Verzin een wachtwoord dat aan de eisen voldoet (en onthoud het goed).",
     "Je wachtwoord heeft minstens 12 tekens. Een zinnetje van een paar woorden is sterk en "
     "makkelijk te onthouden. Veelgebruikte wachtwoorden worden geweigerd."),
    ("Log in met je e-mailadres en wachtwoord en klik op 'Nieuw dossier'.",
     "Je logt in met je e-mailadres en wachtwoord. Op je Home-scherm zie je al je dossiers."),
    ("Vul de activatiecode in.",
     "De activatiecode krijg je van je mentor of decaan, per e-mail of op een brief. Je hebt hem "
     "maar één keer nodig: daarna is je account gekoppeld aan je school."),
    ("Klik op de knop 'Nieuw dossier' om je Digitaal Doorstroomdossier te starten.",
     "Maak voor elke opleiding waarvoor je je aanmeldt een nieuw dossier. Je kunt een dossier "
     "half invullen, opslaan en later verdergaan."),
]

FAQ: list[tuple[str, str]] = [
    ("Wat is het Digitaal Doorstroomdossier?",
     "Met het doorstroomdossier meld je je aan bij je vervolgopleiding. Jij vult deel A in, je "
     "mentor of decaan deel B. Daarna lees je alles nog eens, geef je akkoord en gaat het dossier "
     "naar de school van je keuze."),
    ("Ik heb geen activatiecode gekregen.",
     "Vraag je mentor of decaan om een code. Heeft de school geen e-mailadres van je, dan krijg "
     "je de code op een brief."),
    ("Mijn activatiecode werkt niet.",
     "Controleer of je de code goed hebt overgetypt; hoofdletters maken niet uit. Een code werkt "
     "één keer en verloopt. Vraag je mentor of decaan om een nieuwe code."),
    ("Ik ben mijn wachtwoord vergeten.",
     "Klik bij Inloggen op 'Wachtwoord vergeten'. Je krijgt een e-mail met een link om een nieuw "
     "wachtwoord te kiezen."),
    ("Kan ik een half ingevuld dossier bewaren?",
     "Ja. Klik op 'Opslaan en sluiten'. Je ziet op je Home-scherm hoe ver je bent en gaat later "
     "verder waar je was."),
    ("Ik wil mij voor twee opleidingen aanmelden.",
     "Maak voor elke opleiding een nieuw dossier met de knop 'Nieuw dossier'."),
    ("Ik ben het niet eens met wat mijn mentor in deel B schreef.",
     "Neem contact op met je mentor, of schrijf een opmerking over deel B in de akkoordverklaring."),
    ("Ik wil iets in deel A veranderen nadat ik het heb verstuurd.",
     "Zolang je mentor nog niet aan deel B is begonnen, kun je je dossier terugzetten naar deel A. "
     "In de akkoordverklaring kan dat met 'Terug naar deel A'."),
    ("Moeten mijn ouders ook iets doen?",
     "Ben je jonger dan 18, dan krijgen je ouders of verzorgers een e-mail met een link om je "
     "dossier te bekijken en, als je school dat vraagt, akkoord te geven."),
    ("Welke gegevens bewaren jullie over mij?",
     "Alleen wat nodig is voor je aanmelding. Op je Home-scherm kun je al je gegevens downloaden "
     "('Download al mijn gegevens')."),
]
