"""The dossier as each reader may see it: a student sees part B once it was sent to them, MBO
staff and parents see what was sent, the school sees everything. Also the summary lines."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import asyncpg

from services.dossier import store
from services.dossier.context import forms_for, today
from services.dossier.domain import workflow as wf
from services.dossier.domain.names import full_name
from services.dossier.domain.progress import Progress
from services.dossier.routes.common import etag
from services.dossier.schemas import (
    AgreementInfo,
    ChoiceInfo,
    DossierSummary,
    DossierView,
    KnownParent,
    Location,
    MentorInfo,
    ParentInfo,
    StudentInfo,
)

SCHOOL_ROLES = ("student", "mentor", "counsellor")


# what the receiving school's intake matches an application with, beyond name and date of birth;
# a dossier completed before they were kept takes them from the roster as it is now
INTAKE_KEYS = ("student_number", "school_city")


def student_info(row: Mapping[str, Any]) -> StudentInfo | None:
    if row["final"] and row["final"].get("student"):
        final = dict(row["final"]["student"])
        for key in INTAKE_KEYS:
            if key not in final:
                final[key] = row[key] or None
        return StudentInfo.model_validate(final)
    if row["roepnaam"] is None:
        return None  # not (yet) in the roster read model
    name = full_name(row["roepnaam"], row["tussenvoegsel"], row["achternaam"])
    return StudentInfo(
        student_id=row["student_id"], roepnaam=row["roepnaam"], voornamen=row["voornamen"] or "",
        tussenvoegsel=row["tussenvoegsel"] or "", achternaam=row["achternaam"], name=name, full_name=name,
        class_name=row["class_name"], school_year=row["leerjaar"], leerjaar=row["leerjaar"],
        school_id=row["school_id"], school_name=row["school_name"], school_brin=row["school_brin"],
        school_city=row["school_city"], student_number=row["student_number"] or None,
        date_of_birth=row["date_of_birth"], email=row["student_email"])


def choice_info(row: Mapping[str, Any]) -> ChoiceInfo | None:
    if row["final"] and row["final"].get("choice"):
        return ChoiceInfo.model_validate(row["final"]["choice"])
    if not row["choice_kind"]:
        return None
    location = None
    if row["location_name"] or row["location_address"] or row["location_city"]:
        location = Location(name=row["location_name"], address=row["location_address"], city=row["location_city"])
    if row["institution_id"] is None and row["other_school_name"]:  # typed in: not in the list, never taking part
        return ChoiceInfo(kind=row["choice_kind"], institution_name=row["other_school_name"],
                          institution_city=row["other_school_city"], participates=False, other_school=True,
                          first_choice=row["first_choice"])
    return ChoiceInfo(
        kind=row["choice_kind"], institution_id=row["institution_id"], institution_name=row["institution_name"],
        institution_city=row["institution_city"],
        # a VO school chosen for havo/vmbo before receiving schools had kinds: it has no inbox
        participates=bool(row["institution_participates"]) and row["institution_kind"] != "vo"
        if row["institution_kind"] else None,
        programme_id=row["programme_id"], programme_name=row["programme_name"], profile=row["profile"] or None,
        crebo=row["crebo"], level=row["level"], pathway=row["pathway"], location=location,
        first_choice=row["first_choice"])


def hands_over(choice: ChoiceInfo | None) -> bool:
    """The receiving school does not take part: the student and the mentor hand the PDF over."""
    return choice is not None and choice.participates is False


def choice_name(choice: ChoiceInfo | None) -> str | None:
    if choice is None:
        return None
    parts = [p for p in (choice.institution_name, choice.programme_name, choice.profile) if p]
    return " – ".join(parts) or choice.kind.upper()


def parent_info(row: Mapping[str, Any], role: str) -> ParentInfo:
    rule = wf.ParentRule(row["parent_rule"])
    dob = row["final"]["student"]["date_of_birth"] if row["final"] and row["final"].get("student") else row["date_of_birth"]
    if isinstance(dob, str):
        dob = date.fromisoformat(dob)
    day = row["completed_at"].date() if row["completed_at"] else today()
    has_say = dob is not None and wf.parents_have_a_say(rule, dob, day)
    consent_needed = dob is not None and wf.parent_consent_needed(rule, dob, day)
    return ParentInfo(
        rule=rule.value, has_say=has_say, consent_needed=consent_needed,
        email=row["parent_email"] if role in SCHOOL_ROLES else None, informed_at=row["parent_informed_at"],
        decision=row["parent_decision"], remark=row["parent_remark"], decided_at=row["parent_decided_at"],
        decision_label=wf.parent_decision_label(rule, wf.ParentDecision(row["parent_decision"]))
        if row["parent_decision"] else None,
        known=[KnownParent(**p) for p in known_parents(row)] if role in SCHOOL_ROLES else None)


def known_parents(row: Mapping[str, Any]) -> list[dict]:
    """The parents the school's roster knows (identity.student_changed ``parents``): the link goes to them."""
    return list(row.get("known_parents") or [])


async def dossier_view(conn: asyncpg.Connection, row: Mapping[str, Any], role: str) -> DossierView:
    """The dossier for a reader with ``role`` (student, mentor, counsellor, mbo_staff or parent)."""
    part_a_form, part_b_form = forms_for(row["form_version"], row["part_b_form_version"])
    status = store.status_of(row)
    part_a_visible = role == "student" or row["submitted_at"] is not None
    part_b_visible = role != "student" or status.part_b_approved
    part_a: dict[str, dict] = {}
    part_b_student: dict[str, dict] = {}
    part_b_dossier: dict[str, dict] = {}
    versions: dict[str, int] = {}
    by_part = {"part_a": part_a, "part_b_student": part_b_student, "part_b_dossier": part_b_dossier}
    rows = await store.all_sections(conn, row)
    for section in rows:
        if not section["living"]:
            by_part[section["part"]][section["section_id"]] = section["answers"]
            versions[section["section_id"]] = section["version"]
    if not status.part_b_approved:  # not sent yet: the student's living part B, not a copy
        part_b_student.clear()
        for section in rows:
            if section["living"]:
                part_b_student[section["section_id"]] = section["answers"]
                versions[section["section_id"]] = section["version"]
    answers = {**part_a, **part_b_student, **part_b_dossier}
    counted = Progress(part_a_form, part_b_form, answers)  # each section validated once for both figures
    step = counted.step(row["state"])
    if not part_a_visible:  # a draft the student has not sent to anyone: the school sees how far, not what
        part_a.clear()
        versions = {k: v for k, v in versions.items() if k not in {s.id for s in part_a_form.sections}}
    shown = (list(part_a_form.sections) if part_a_visible else []) + (
        list(part_b_form.sections) if part_b_visible else [])
    progress = {s.id: counted.section(part_a_form if s.part == "part_a" else part_b_form, s.id) for s in shown}
    for s in shown:
        versions.setdefault(s.id, 0)
    if not part_b_visible:
        versions = {k: v for k, v in versions.items() if k not in {s.id for s in part_b_form.sections}}
    actions = []
    if role in {r.value for r in wf.Role}:
        actions = sorted(a.value for a in wf.available_actions(status, wf.Role(role)))
    return DossierView(
        id=row["id"], state=row["state"], state_label=status.label, archived=row["archived"],
        version=row["version"], etag=etag(row["version"]), created_at=row["created_at"], updated_at=row["updated_at"],
        school_year=row["school_year"], form_version=row["form_version"],
        part_b_form_version=row["part_b_form_version"], student=student_info(row), choice=choice_info(row),
        mentor=MentorInfo(staff_id=row["mentor_id"], name=row["mentor_name"]) if row["mentor_id"] else None,
        part_a=part_a, part_a_visible=part_a_visible, part_b_visible=part_b_visible, part_b_started=row["part_b_started"],
        part_b_student=part_b_student if part_b_visible else None,
        part_b_dossier=part_b_dossier if part_b_visible else None,
        progress=progress, step_progress=step,
        versions=versions,
        warm_handover=row["warm_handover"] if part_b_visible and status.part_b_approved else None,
        contact_wanted=row["contact_wanted"] if part_b_visible and status.part_b_approved else None,
        agreement=AgreementInfo(remark=row["agreement_remark"], completed_at=row["completed_at"],
                                parent=parent_info(row, role)),
        submitted_at=row["submitted_at"], part_b_sent_at=row["part_b_sent_at"], handled_at=row["handled_at"],
        handled_by=row["handled_by_name"], available_actions=actions)


SUMMARY_SELECT = """
SELECT d.id, d.state, d.archived, d.version, d.progress, d.choice_kind, d.first_choice, d.created_at,
       d.updated_at, d.handled_at, d.final,
       coalesce(inst.name, d.other_school_name) AS institution_name, p.name AS programme_name
FROM dossiers d
LEFT JOIN schools inst ON inst.school_id = d.institution_id
LEFT JOIN programmes p ON p.programme_id = d.programme_id"""


def summary(row: Mapping[str, Any]) -> DossierSummary:
    institution, programme = row["institution_name"], row["programme_name"]
    if row["final"] and row["final"].get("choice"):
        institution = row["final"]["choice"].get("institution_name")
        programme = row["final"]["choice"].get("programme_name")
    label = wf.ARCHIVED_LABEL if row["archived"] else wf.STATE_LABELS[wf.State(row["state"])]
    return DossierSummary(
        id=row["id"], state=row["state"], state_label=label, archived=row["archived"], version=row["version"],
        step_progress=row["progress"], choice_kind=row["choice_kind"], institution_name=institution,
        programme_name=programme, first_choice=row["first_choice"], created_at=row["created_at"],
        updated_at=row["updated_at"], handled_at=row["handled_at"])
