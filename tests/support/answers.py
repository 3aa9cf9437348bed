"""Complete answers to the form's sections, as tests and benchmarks fill them in: part A of one
student (Roos de Winter) and part B's student-specific "Begeleiding" with every question answered
"no". Callers override whole sections where their story needs other answers."""
from __future__ import annotations

PART_A = {
    "personal_details": {"roepnaam": "Roos", "voornaam": "Rosalie Anna", "initials": "R.A.", "tussenvoegsel": "de",
                         "achternaam": "Winter", "geslacht": "vrouw", "phone": "030-1234567", "phone_secret": "nee"},
    "family_living_leisure": {"living_situation": "parents", "leisure": "Hockey", "side_job": False},
    "competences": {"strengths": "Plannen", "areas_to_improve": "Presenteren"},
    "internships_work_training": {},
    "support": {"support_received": False, "support_needed": False},
    "previous_school": {"learning_track": "kb", "profile": "Economie en ondernemen", "diploma_expected": True},
    "choice_preparation": {"beroepskeuzetest": True, "lobdossier": True, "portfolio": False, "pop": False,
                           "motivatiebrief": True, "open_day": False},
    "motivation": {"motivation": "Ik wil juridisch werken.", "expectations": "Veel leren."},
}

GUIDANCE = {k: False for k in ("support_received_dutch", "support_received_maths", "support_expected_dutch",
                               "support_expected_maths", "support_other", "frequent_absence", "lwoo",
                               "extra_guidance", "contactleerplicht")}
