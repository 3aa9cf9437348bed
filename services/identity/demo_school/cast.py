"""Who is in the living demo school and where each of their dossiers should stand (data only).

Eight more students of Het Voorbeeld College, each with an account, a parent the roster knows and
one or two dossiers; with Roos de Winter (demo.py) they show every state of the workflow. The
targets are steps of ``stories.STEPS``: a dossier is driven through the real API up to its target.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.identity.demo import MBOS, RECEIVING, demo_id

PASSWORD = "Demo-leerling-2026"  # the password of every demo student (Roos de Winter's too)

# the targets, in the order of the workflow; what each login then finds is in README's demo section
PART_A_HALF = "part_a_half"          # part A half filled in
WAITING_FOR_MENTOR = "submitted"     # part A sent to the mentor, part B not started
ARCHIVED = "archived"                # sent to the mentor, then archived by the mentor
PART_B = "part_b"                    # the mentor is filling in part B
AGREEMENT = "agreement"              # part B sent: the student is to agree
PARENT_REACTED = "parent_reacted"    # in the agreement step, a parent reacted through their link
COMPLETED = "completed"              # completed: in the MBO's inbox
HANDLED = "handled"                  # completed and handled ("afgehandeld") by the MBO


@dataclass(frozen=True)
class Programme:
    institution: str
    name: str
    crebo: str
    pathway: str
    location: str

    @property
    def choice(self) -> dict:
        """The follow-up choice as part A's programme field takes it."""
        return {"kind": "mbo", "institution_id": str(demo_id(f"school:{self.institution}")),
                "programme_id": str(demo_id(f"programme:{self.institution}:{self.crebo}:{self.pathway}:"
                                            f"{self.location}")),
                "crebo": self.crebo}


def _programme(institution: str, crebo: str, pathway: str) -> Programme:
    name, _, _, programmes = next(m for m in MBOS if m[0] == institution)
    prog, _, _, _, location = next(p for p in programmes if p[1] == crebo and p[3] == pathway)
    return Programme(institution, prog, crebo, pathway, location)


@dataclass(frozen=True)
class SchoolChoice:
    """A year and profile at a HAVO or VMBO school (taking part in Doorstroom or not)."""
    institution: str
    name: str
    profile: str

    @property
    def choice(self) -> dict:
        kind = next(r[1] for r in RECEIVING if r[0] == self.institution)
        return {"kind": kind, "institution_id": str(demo_id(f"school:{self.institution}")),
                "programme_id": str(demo_id(f"programme:{self.institution}:{self.name}:{self.profile}"))}


JURIDISCH = _programme("MBO Utrecht", "25196", "BOL")
HANDHAVER = _programme("MBO Utrecht", "25409", "BOL")
BEVEILIGER = _programme("MBO Utrecht", "25406", "BBL")
METAAL = _programme("ROC van Twente", "25272", "BOL")
MEDIA = _programme("Grafisch Lyceum Rotterdam", "25410", "BOL")
HAVO_NG = SchoolChoice("Stedelijk Lyceum", "HAVO 4", "Natuur en Gezondheid")  # takes part: its inbox
VMBO_GL = SchoolChoice("De Waerdenborch", "VMBO 4", "gemengde leerweg")  # does not: the PDF is handed over


@dataclass(frozen=True)
class Plan:
    """One dossier: for which programme, how far, and what the people on the way say."""

    programme: Programme | SchoolChoice
    target: str
    first_choice: bool = True
    parent: tuple[str, str] | None = None   # the parent's reaction: (consent|objection, remark)
    remark: str | None = None               # the student's remark on part B
    warm_handover: bool = False             # the mentor asks for a warm handover (OPP)


@dataclass(frozen=True)
class Student:
    number: str
    roepnaam: str
    voornamen: str
    tussenvoegsel: str
    achternaam: str
    date_of_birth: date
    class_name: str
    bsn: str
    parent: str  # the parent's name (their e-mail address is made from the student's)
    leisure: str
    motivation: str
    plans: tuple[Plan, ...]
    email: str = ""

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.roepnaam, self.tussenvoegsel, self.achternaam) if p)

    @property
    def login(self) -> str:
        return self.email or f"{self.roepnaam}.{self.tussenvoegsel}{self.achternaam}@leerling.example".lower()

    @property
    def parent_email(self) -> str:
        return f"ouder.{self.tussenvoegsel}{self.achternaam}@ouder.example".lower()


ROOS = Student("100234", "Roos", "Roos Maria", "de", "Winter", date(2010, 3, 14), "4a", "123456708", "",
               "Hockey en tekenen", "Ik wil later op een advocatenkantoor werken.", (
                   Plan(JURIDISCH, AGREEMENT),
                   Plan(MEDIA, PART_A_HALF, first_choice=False)),
               email="roos.dewinter@leerling.example")

STUDENTS: tuple[Student, ...] = (
    ROOS,
    Student("100240", "Lotte", "Lotte", "", "Visser", date(2010, 2, 11), "4a", "234567004", "Anja Visser",
            "Paardrijden", "Ik help graag mensen en wil weten hoe het recht werkt.",
            (Plan(JURIDISCH, WAITING_FOR_MENTOR),)),
    Student("100241", "Milan", "Milan Johannes", "", "Bos", date(2010, 6, 5), "4a", "234567016", "Erik Bos",
            "Voetbal en gamen", "Ik wil met mijn handen werken en dingen maken.",
            (Plan(METAAL, PART_B),)),
    Student("100242", "Sara", "Sara", "", "Meijer", date(2010, 8, 21), "4a", "234567028", "Ingrid Meijer",
            "Dansen", "Ik vind veiligheid belangrijk en wil mensen helpen.",
            (Plan(HANDHAVER, PARENT_REACTED, parent=("consent", "Mooi dossier, we zijn trots op Sara."),
                  remark="Ik ben het eens met deel B."),)),
    Student("100243", "Fenna", "Fenna Louise", "", "Koster", date(2009, 12, 1), "4a", "234567041", "Marco Koster",
            "Zwemmen en lezen", "Ik wil een opleiding waarin ik veel schrijf en regel.",
            (Plan(JURIDISCH, HANDLED, parent=("consent", "")),)),
    Student("100244", "Youssef", "Youssef", "", "Amrani", date(2010, 4, 18), "4b", "234567053", "Nadia Amrani",
            "Boksen", "Ik wil beveiliger worden, net als mijn oom.",
            (Plan(BEVEILIGER, COMPLETED, parent=("objection", "Wij vinden BBL te zwaar naast school; liever BOL."),
                  remark="Mijn ouders willen liever BOL, ik kies toch voor BBL."),)),
    Student("100245", "Tim", "Tim", "", "Hendriks", date(2010, 10, 30), "4b", "234567065", "Sandra Hendriks",
            "Skaten", "Ik wil handhaver worden in de stad.",
            (Plan(HANDHAVER, COMPLETED, warm_handover=True),)),
    Student("100246", "Luuk", "Lucas", "", "Peters", date(2010, 1, 25), "4b", "234567077", "Wim Peters",
            "Drummen", "Ik wil metaalbewerker worden; eerst dacht ik aan beveiliging.",
            (Plan(BEVEILIGER, ARCHIVED, first_choice=False), Plan(METAAL, WAITING_FOR_MENTOR))),
    Student("100247", "Emma", "Emma", "de", "Graaf", date(2010, 7, 7), "4b", "234567089", "Joost de Graaf",
            "Fotografie", "Ik wil vormgever worden.",
            (Plan(MEDIA, PART_A_HALF),)),
    Student("100248", "Bram", "Bram", "", "Dekker", date(2010, 3, 3), "4a", "234567107", "Petra Dekker",
            "Schaken", "Ik wil na de mavo door naar de havo en later biologie studeren.",
            (Plan(HAVO_NG, COMPLETED),)),
    Student("100249", "Noa", "Noa", "", "Willems", date(2010, 11, 12), "4b", "234567119", "Kees Willems",
            "Handbal", "Ik wil naar een school dicht bij huis in Holten.",
            (Plan(VMBO_GL, COMPLETED),)),
)
NEW_STUDENTS = STUDENTS[1:]  # Roos de Winter is in demo.py's roster already
