"""The dossier forms from school year 2026-2027 on: part A (student) and part B (mentor).

Data only. Field ids are OSO VO-MBO element names where one fits (`roepnaam`, `voornaam`,
`tussenvoegsel`, `achternaam`, `geslacht`, `certificaat`, `stage`, `schoolloopbaan`,
`beroepskeuzetest`, `portfolio`, `pop`, `motivatiebrief`, `lobdossier`,
`keuzevervolgopleiding`, `lwoo`, `contactleerplicht`, `advies`, `argumentatie`,
`aandachtspunten`, `opp`, `contactpersoon`, `functie`, `contactemail`, `contacttelefoon`,
`contactnodig`), English otherwise.

What a transfer report may hold is limited by law: administrative data, school history and
results, social-emotional development, support and absence. So no medical diagnoses, religion,
ethnicity or family circumstances beyond what the new school needs; the help texts say so.
"""

from __future__ import annotations

from shared.forms.model import Condition, FieldType, Form, FormField, Option, Section

SCHOOL_YEAR = "2026-2027"
VERVOLGKEUZE = "Vervolgkeuze"
NO_DIAGNOSES = "Noem geen medische gegevens of diagnoses; beschrijf wat helpt bij het leren."


def _yes(field_id: str) -> Condition:
    return Condition(field=field_id, equals=True)


def _any_yes(*field_ids: str) -> Condition:
    return Condition(any_of=tuple(_yes(f) for f in field_ids))


def _text(field_id: str, label: str, *, required: bool = False, max_length: int | None = None, **kw) -> FormField:
    return FormField(id=field_id, label=label, type=FieldType.TEXT, required=required, max_length=max_length, **kw)


def _area(field_id: str, label: str, *, required: bool = False, **kw) -> FormField:
    return FormField(id=field_id, label=label, type=FieldType.TEXTAREA, required=required, **kw)


def _yes_no(field_id: str, label: str, *, required: bool = True, **kw) -> FormField:
    return FormField(id=field_id, label=label, type=FieldType.YES_NO, required=required, **kw)


def _choice(field_id: str, label: str, options: list[tuple[str, str]], *, required: bool = True, **kw) -> FormField:
    opts = tuple(Option(value=v, label=lbl) for v, lbl in options)
    return FormField(id=field_id, label=label, type=FieldType.CHOICE, options=opts, required=required, **kw)


def _explain(field_id: str, *about: str, label: str = "Toelichting", **kw) -> FormField:
    """An optional explanation, shown when one of the `about` questions is answered with ja."""
    return _area(field_id, label, visible_when=_any_yes(*about), **kw)


# --------------------------------------------------------------------------- part A

PERSONAL = Section(
    id="personal_details",
    title="Persoonlijke gegevens",
    part="part_a",
    help="Controleer je gegevens. Je nieuwe school gebruikt ze om contact met je op te nemen.",
    fields=(
        _text("roepnaam", "Roepnaam", required=True, max_length=50),
        _text("voornaam", "Voornamen", required=True, max_length=100, help="Al je voornamen, zoals in je paspoort."),
        _text("initials", "Voorletters", required=True, max_length=20, help="Bijvoorbeeld: J.M."),
        _text("tussenvoegsel", "Tussenvoegsel", max_length=20, help="Bijvoorbeeld: van der"),
        _text("achternaam", "Achternaam", required=True, max_length=100),
        _choice(
            "geslacht",
            "Geslacht",
            [("man", "Man"), ("vrouw", "Vrouw"), ("anders", "Anders"), ("onbekend", "Zeg ik liever niet")],
        ),
        FormField(
            id="phone",
            label="Telefoonnummer",
            type=FieldType.PHONE,
            required=True,
            help="Het nummer waarop jij of je ouders bereikbaar zijn, bijvoorbeeld 010-1234567 of +32 2 123 45 67.",
        ),
        _yes_no("phone_secret", "Is dit telefoonnummer geheim?"),
        FormField(id="mobile", label="Mobiel nummer", type=FieldType.PHONE, help="Bijvoorbeeld 06-12345678."),
        _yes_no(
            "mobile_secret",
            "Is dit telefoonnummer geheim?",
            required=False,
            required_when=Condition(field="mobile", answered=True),
        ),
    ),
)

FAMILY = Section(
    id="family_living_leisure",
    title="Familie, wonen en vrije tijd",
    part="part_a",
    help="Vertel iets over jezelf buiten school. Schrijf alleen op wat je nieuwe school mag weten.",
    fields=(
        _choice(
            "living_situation",
            "Waar woon je?",
            [("parents", "Bij mijn ouder(s) of verzorger(s)"), ("independent", "Zelfstandig"), ("other", "Anders")],
        ),
        _area("leisure", "Wat doe je in je vrije tijd?", required=True, help="Bijvoorbeeld sport, hobby's of vrijwilligerswerk."),
        _yes_no("side_job", "Heb je een bijbaan?"),
        _text("side_job_description", "Wat voor bijbaan heb je?", visible_when=_yes("side_job"), required_when=_yes("side_job")),
    ),
)

COMPETENCES = Section(
    id="competences",
    title="Competenties",
    part="part_a",
    help="Competenties zijn dingen die je goed kunt of wilt leren, zoals samenwerken, plannen of netjes werken.",
    fields=(
        _area("strengths", "Waar ben je goed in?", required=True),
        _area("areas_to_improve", "Wat wil je nog leren of beter doen?", required=True),
        _area("learning_style", "Hoe leer jij het best?", help="Bijvoorbeeld door te doen, door uitleg of door samen te werken."),
    ),
)

INTERNSHIPS = Section(
    id="internships_work_training",
    title="Stage, werk en trainingen",
    part="part_a",
    help="Vul in wat voor jou geldt. Niets hier is verplicht.",
    fields=(
        _area("stage", "Stages", help="Noem per stage het bedrijf, de periode en wat je deed."),
        _area("work_experience", "Werkervaring", help="Bijbaantjes en vrijwilligerswerk."),
        _area("certificaat", "Certificaten en trainingen", help="Bijvoorbeeld EHBO, VCA of een taalcertificaat."),
    ),
)

SUPPORT = Section(
    id="support",
    title="Ondersteuning",
    part="part_a",
    help="Met deze vragen kan je nieuwe school je vanaf het begin goed helpen. " + NO_DIAGNOSES,
    fields=(
        _yes_no("support_received", "Heb je op school extra hulp of ondersteuning gehad?"),
        _area(
            "support_received_description",
            "Waarbij kreeg je hulp, en wat hielp jou?",
            visible_when=_yes("support_received"),
            required_when=_yes("support_received"),
        ),
        _yes_no("support_needed", "Denk je dat je op je nieuwe opleiding extra hulp nodig hebt?"),
        _area(
            "support_needed_description",
            "Waarbij denk je dat je hulp nodig hebt?",
            visible_when=_yes("support_needed"),
            required_when=_yes("support_needed"),
        ),
    ),
)

PREVIOUS_SCHOOL = Section(
    id="previous_school",
    title="School van herkomst",
    part="part_a",
    fields=(
        _choice(
            "learning_track",
            "Welke leerweg volg je?",
            [
                ("bb", "Basisberoepsgerichte leerweg (BB)"),
                ("kb", "Kaderberoepsgerichte leerweg (KB)"),
                ("gt", "Gemengde of theoretische leerweg (GL/TL)"),
                ("pro", "Praktijkonderwijs"),
                ("other", "Anders"),
            ],
        ),
        _text("profile", "Welk profiel volg je?", required=True, max_length=100, help="Bijvoorbeeld: Zorg en welzijn."),
        _yes_no("diploma_expected", "Verwacht je dit schooljaar je diploma te halen?"),
        _text("favourite_subjects", "Welke vakken vind je leuk of gaan je goed af?"),
        _area(
            "schoolloopbaan",
            "Ben je van school gewisseld of ben je blijven zitten?",
            help="Vertel er kort iets over. Laat leeg als dit niet zo is.",
        ),
    ),
)

CHOICE_PREPARATION = Section(
    id="choice_preparation",
    title="Voorbereiding keuze",
    part="part_a",
    group=VERVOLGKEUZE,
    help="Hoe heb je je op je keuze voorbereid?",
    fields=(
        _yes_no("beroepskeuzetest", "Heb je een beroepskeuzetest gedaan?"),
        _yes_no("lobdossier", "Heb je een LOB-dossier (loopbaanoriëntatie en -begeleiding)?"),
        _yes_no("portfolio", "Heb je een portfolio?"),
        _yes_no("pop", "Heb je een persoonlijk ontwikkelingsplan (POP)?"),
        _yes_no("motivatiebrief", "Heb je een motivatiebrief geschreven?"),
        _yes_no("open_day", "Heb je een open dag of meeloopdag bezocht bij deze opleiding?"),
        FormField(id="open_day_date", label="Wanneer was dat?", type=FieldType.DATE, visible_when=_yes("open_day")),
        _area("orientation", "Hoe heb je je verder georiënteerd?", help="Bijvoorbeeld gesprekken, snuffelstage of websites."),
    ),
)

MOTIVATION = Section(
    id="motivation",
    title="Motivatie",
    part="part_a",
    group=VERVOLGKEUZE,
    fields=(
        _area("motivation", "Waarom kies je voor deze opleiding?", required=True),
        _area("expectations", "Wat verwacht je van de opleiding en van het werk later?", required=True),
        _area("fit", "Waarom past deze opleiding bij jou?"),
    ),
)

FOLLOW_UP_PROGRAMME = Section(
    id="follow_up_programme",
    title="Vervolgopleiding",
    part="part_a",
    group=VERVOLGKEUZE,
    help="Voor elke opleiding waarvoor je je aanmeldt, maak je een apart dossier.",
    fields=(
        FormField(
            id="keuzevervolgopleiding",
            label="Voor welke opleiding meld je je aan?",
            type=FieldType.PROGRAMME,
            required=True,
            help="Kies een mbo-opleiding, of havo of vmbo als je daar verder wilt leren.",
        ),
        _yes_no("first_choice", "Is dit je eerste keuze?"),
    ),
)

PART_A_2026 = Form(
    id="part_a-2026-2027",
    kind="part_a",
    school_year=SCHOOL_YEAR,
    title="Digitaal Doorstroomdossier – deel A (leerling)",
    sections=(
        PERSONAL,
        FAMILY,
        COMPETENCES,
        INTERNSHIPS,
        SUPPORT,
        PREVIOUS_SCHOOL,
        CHOICE_PREPARATION,
        MOTIVATION,
        FOLLOW_UP_PROGRAMME,
    ),
)

# --------------------------------------------------------------------------- part B

GUIDANCE = Section(
    id="guidance",
    title="Begeleiding",
    part="part_b_student",
    help="Deze antwoorden gelden voor de leerling en worden bewaard voor een volgend dossier. " + NO_DIAGNOSES,
    fields=(
        _yes_no("support_received_dutch", "Heeft de leerling op uw school extra ondersteuning gehad bij het vak Nederlands?"),
        _yes_no("support_received_maths", "Heeft de leerling op uw school extra ondersteuning gehad bij het vak rekenen/wiskunde?"),
        _explain("support_received_explanation", "support_received_dutch", "support_received_maths"),
        _yes_no(
            "support_expected_dutch",
            "Verwacht u dat in het vervolgonderwijs extra ondersteuning nodig zal zijn bij Nederlands?",
        ),
        _yes_no(
            "support_expected_maths",
            "Verwacht u dat in het vervolgonderwijs extra ondersteuning nodig zal zijn bij rekenen/wiskunde?",
        ),
        _explain("support_expected_explanation", "support_expected_dutch", "support_expected_maths"),
        _yes_no(
            "support_other",
            "Heeft de leerling, naar uw mening, extra ondersteuning nodig bij andere vakken of bij de stage?",
        ),
        _explain("support_other_explanation", "support_other"),
        _yes_no("frequent_absence", "Is bij deze leerling sprake van veelvuldig ziekteverzuim, te laat komen of absentie?"),
        _explain("frequent_absence_explanation", "frequent_absence"),
        _yes_no("lwoo", "Is deze leerling geïndiceerd voor leerwegondersteunend onderwijs (LWOO) of praktijkonderwijs?"),
        _explain("lwoo_explanation", "lwoo"),
        _yes_no(
            "extra_guidance",
            "Heeft deze leerling extra begeleiding gehad, leerlinggebonden financiering (LGF), "
            "een REC-indicatie of een arrangement passend onderwijs?",
        ),
        _explain("extra_guidance_explanation", "extra_guidance"),
        _yes_no("contactleerplicht", "Is de leerling in onderzoek of in begeleiding geweest bij Leerplicht of het RMC?"),
        _explain("contactleerplicht_explanation", "contactleerplicht"),
    ),
)

_CONTACT_NEEDED = _any_yes("opp", "contactnodig")

ASSESSMENT = Section(
    id="assessment_advice",
    title="Inschatting en advies",
    part="part_b_dossier",
    help="Deze antwoorden gelden voor deze vervolgkeuze; vul ze per dossier opnieuw in.",
    fields=(
        _area("argumentatie", "Hoe schat u de keuze van de leerling voor deze opleiding in?", required=True),
        _choice(
            "advies",
            "Uw advies over deze keuze",
            [
                ("positive", "Positief"),
                ("positive_with_concerns", "Positief, met aandachtspunten"),
                ("doubt", "Twijfel"),
                ("negative", "Negatief"),
            ],
        ),
        _area(
            "aandachtspunten",
            "Aandachtspunten bij de overstap",
            max_length=280,
            visible_when=Condition(
                any_of=tuple(Condition(field="advies", equals=v) for v in ("positive_with_concerns", "doubt", "negative"))
            ),
            required_when=Condition(field="advies", equals="positive_with_concerns"),
            help="Kort en alleen wat de nieuwe school nodig heeft. " + NO_DIAGNOSES,
        ),
        _yes_no("opp", "Is er een ontwikkelingsperspectief (OPP) / warme overdracht?"),
        _text(
            "contactpersoon",
            "Contactpersoon",
            max_length=100,
            required_when=_CONTACT_NEEDED,
            help="Verplicht bij een OPP / warme overdracht of als u nader contact wilt.",
        ),
        _text("functie", "Functie", max_length=100),
        FormField(id="contactemail", label="E-mailadres", type=FieldType.EMAIL, required_when=_CONTACT_NEEDED),
        FormField(id="contacttelefoon", label="Telefoonnummer", type=FieldType.PHONE, required_when=_CONTACT_NEEDED),
        _text("available_on", "Beschikbaar op", max_length=100, help="Bijvoorbeeld: maandag en donderdag."),
        _yes_no("contactnodig", "Wilt u over deze leerling nader contact hebben met het MBO of de vervolgschool?"),
    ),
)

PART_B_2026 = Form(
    id="part_b-2026-2027",
    kind="part_b",
    school_year=SCHOOL_YEAR,
    title="Digitaal Doorstroomdossier – deel B (mentor)",
    sections=(GUIDANCE, ASSESSMENT),
)

FORMS: tuple[Form, ...] = (PART_A_2026, PART_B_2026)
