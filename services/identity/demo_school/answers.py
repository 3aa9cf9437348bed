"""What the demo students and their mentors fill in: complete answers to every section of the
2026 form (shared/forms/form_2026.py), made from each student's own data."""
from __future__ import annotations

from services.identity.demo_school.cast import Plan, Student


def initials(voornamen: str) -> str:
    return "".join(f"{n[0]}." for n in voornamen.split())


def part_a(s: Student, plan: Plan) -> dict[str, dict]:
    """Part A, section by section, in the order a student fills it in."""
    return {
        "personal_details": {"roepnaam": s.roepnaam, "voornaam": s.voornamen, "initials": initials(s.voornamen),
                             "tussenvoegsel": s.tussenvoegsel, "achternaam": s.achternaam,
                             "geslacht": "onbekend", "phone": "030-1234567", "phone_secret": False},
        "family_living_leisure": {"living_situation": "parents", "leisure": s.leisure, "side_job": False},
        "competences": {"strengths": "Samenwerken en op tijd komen.", "areas_to_improve": "Plannen van mijn huiswerk."},
        "internships_work_training": {"stage": "Snuffelstage van een week (klas 3)."},
        "support": {"support_received": False, "support_needed": False},
        "previous_school": {"learning_track": "kb", "profile": "Economie en ondernemen", "diploma_expected": True},
        "choice_preparation": {"beroepskeuzetest": True, "lobdossier": True, "portfolio": False, "pop": False,
                               "motivatiebrief": True, "open_day": True},
        "motivation": {"motivation": s.motivation, "expectations": "Veel praktijk en een goede stage."},
        "follow_up_programme": {"keuzevervolgopleiding": plan.programme.choice, "first_choice": plan.first_choice},
    }


PART_A_HALF = ("personal_details", "family_living_leisure", "competences")  # what a half-done part A holds

GUIDANCE = {k: False for k in ("support_received_dutch", "support_received_maths", "support_expected_dutch",
                               "support_expected_maths", "support_other", "frequent_absence", "lwoo",
                               "extra_guidance", "contactleerplicht")}


def assessment(s: Student, plan: Plan, mentor: str, mentor_email: str) -> dict:
    """The mentor's assessment and advice for this choice; a warm handover names a contact person."""
    answers = {"argumentatie": f"{s.roepnaam} heeft goed nagedacht over deze keuze en past bij {plan.programme.name}.",
               "advies": "positive", "opp": plan.warm_handover, "contactnodig": False}
    if plan.warm_handover:
        answers |= {"advies": "positive_with_concerns",
                    "aandachtspunten": "Heeft baat bij een vast aanspreekpunt in de eerste weken.",
                    "contactpersoon": mentor, "functie": "mentor", "contactemail": mentor_email,
                    "contacttelefoon": "030-7654321"}
    return answers
