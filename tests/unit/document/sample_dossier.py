"""A dossier as the dossier service answers ``GET /v1/dossiers/{id}`` (the contract the document
service renders from), for the document tests and the stand-in dossier API."""
from __future__ import annotations

import copy
import uuid
from typing import Any

DOSSIER_ID = "7d1c9c1e-2f57-4a47-9f0e-5a1de1b0c001"


def sample_dossier(**overrides: Any) -> dict[str, Any]:
    dossier: dict[str, Any] = {
        "id": DOSSIER_ID,
        "state": "completed",
        "state_label": "Afgerond",
        "school_year": "2026-2027",
        "form_version": "2026-2027",
        "student": {
            "roepnaam": "Roos", "tussenvoegsel": "de", "achternaam": "Winter", "full_name": "Roos de Winter",
            "class_name": "4a", "school_year": 4, "school_name": "Het Ĳsselcollege",
            "date_of_birth": "2010-05-17",
        },
        "choice": {
            "kind": "mbo", "institution_name": "MBO Utrecht", "programme_name": "Juridisch secretaresse",
            "crebo": "95392", "level": 4, "pathway": "BOL",
            "location": {"name": "Australiëlaan 23", "address": "Australiëlaan 23", "city": "Utrecht"},
        },
        "mentor": {"name": "Jan Jansen"},
        "part_a": {
            "personal_details": {
                "roepnaam": "Roos", "voornaam": "Rosalie Zoë", "initials": "R.Z.", "tussenvoegsel": "de",
                "achternaam": "Winter", "geslacht": "vrouw", "phone": "+31301234567", "phone_secret": False,
            },
            "family_living_leisure": {
                "living_situation": "parents", "leisure": "Hockey en gitaar spelen.\nIn het weekend bij de manege.",
                "side_job": True, "side_job_description": "Vakkenvuller bij de supermarkt",
            },
            "competences": {"strengths": "Plannen en netjes werken.", "areas_to_improve": "Presenteren voor een groep."},
            "internships_work_training": {},
            "support": {"support_received": False, "support_needed": False},
            "previous_school": {"learning_track": "kb", "profile": "Economie en ondernemen",
                                "diploma_expected": True},
            "choice_preparation": {"beroepskeuzetest": True, "lobdossier": True, "portfolio": False, "pop": False,
                                   "motivatiebrief": True, "open_day": True, "open_day_date": "2027-01-23"},
            "motivation": {"motivation": "Ik wil graag op een advocatenkantoor werken.",
                           "expectations": "Veel praktijk en een goede stage."},
            "follow_up_programme": {
                "keuzevervolgopleiding": {"kind": "mbo", "institution_id": str(uuid.UUID(int=1)),
                                          "programme_id": str(uuid.UUID(int=2)), "crebo": "95392"},
                "first_choice": True,
            },
        },
        "part_b_student": {
            "guidance": {
                "support_received_dutch": True, "support_received_maths": False,
                "support_received_explanation": "Extra les begrijpend lezen in leerjaar 3.",
                "support_expected_dutch": False, "support_expected_maths": False, "support_other": False,
                "frequent_absence": False, "lwoo": False, "extra_guidance": False, "contactleerplicht": False,
            },
        },
        "part_b_dossier": {
            "assessment_advice": {
                "argumentatie": "Roos is gemotiveerd en heeft zich goed georiënteerd.",
                "advies": "positive_with_concerns", "aandachtspunten": "Plannen van grote opdrachten.",
                "opp": False, "contactnodig": False,
            },
        },
        "agreement": {"remark": "Ik ben het eens met deel B.", "completed_at": "2027-03-02T13:05:00+00:00"},
    }
    result = copy.deepcopy(dossier)
    result.update(overrides)
    return result
