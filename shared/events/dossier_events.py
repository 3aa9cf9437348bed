"""Events published by the dossier service. ``dossier.completed`` is what MBO systems subscribe to.

Every transition of the workflow (``services/dossier/domain/workflow.py``) publishes one event
through the outbox, in the transaction of the change. The ``subject`` of each envelope is the
dossier id. Ids are the roster ids of identity (``student_id``, ``school_id``, ``staff_id``),
so a consumer that knows the roster needs nothing else.

Personal data is limited to what the consumer must act on: the signal-mail events carry the
recipient's address and the names the mail shows (the notification service has no roster), and
``dossier.completed`` carries what an MBO needs to match the application to a person. Never a
BSN, never the answers of part A or B: those are read through the dossier API, where every read
is recorded. ``student_email`` is the verified address of the student's own account
(``identity.student_changed``'s ``account_email``), the roster's address only while the student has
no account; optional addresses are null when none is known, and no mail is sent then.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import EmailStr, Field

from shared.events.payload import Payload
from shared.events.registry import event
from shared.sealing import Sealed

__all__ = ["DossierCreated", "PartASubmitted", "DossierResetToPartA", "PartBStarted", "PartBSent",
           "DossierReturnedToPartA", "ParentReviewRequested", "ParentResponded", "CompletedStudent",
           "CompletedSchool", "CompletedProgramme", "DossierCompleted", "DossierArchived",
           "DossierReactivated", "AgreementReminderIssued", "DossierHandled", "RetentionNotice", "DossierErased",
           "StudentErased"]

ByRole = Literal["student", "mentor", "counsellor"]
ChoiceKind = Literal["mbo", "havo", "vmbo"]


@event("dossier.created", producer="dossier",
       summary="A student started a new dossier (one per application).")
class DossierCreated(Payload):
    dossier_id: uuid.UUID
    student_id: uuid.UUID
    school_id: uuid.UUID
    school_year: str = Field(description="the school year the dossier was made in, e.g. 2026-2027")


@event("dossier.part_a_submitted", producer="dossier",
       summary="The student sent part A to a mentor of their class; the mentor gets a signal mail.")
class PartASubmitted(Payload):
    dossier_id: uuid.UUID
    student_id: uuid.UUID
    school_id: uuid.UUID
    mentor_staff_id: uuid.UUID
    mentor_name: str
    mentor_email: EmailStr | None = Field(None, description="recipient of the signal mail")
    student_name: str = Field(description="the student's full name, for the mail")
    class_name: str | None = None
    choice_name: str | None = Field(None, description="school and programme chosen, for the mail")
    dossier_url: str = Field(description="where the mentor opens the dossier in the portal")


@event("dossier.reset_to_part_a", producer="dossier",
       summary="The dossier was put back to part A before part B was started; the student gets a signal mail.")
class DossierResetToPartA(Payload):
    dossier_id: uuid.UUID
    student_id: uuid.UUID
    by_role: ByRole
    student_email: EmailStr | None = Field(None, description="recipient of the signal mail")
    student_name: str = Field(description="the student's roepnaam, for the mail")
    dossier_url: str


@event("dossier.part_b_started", producer="dossier",
       summary="A mentor or counsellor started part B of this dossier; it can no longer be reset to part A.")
class PartBStarted(Payload):
    dossier_id: uuid.UUID
    student_id: uuid.UUID
    by_staff_id: uuid.UUID | None = None


@event("dossier.part_b_sent", producer="dossier",
       summary="The mentor approved part B and sent it (\"opsturen naar leerling\"); the student gets a signal mail.")
class PartBSent(Payload):
    dossier_id: uuid.UUID
    student_id: uuid.UUID
    student_email: EmailStr | None = Field(None, description="recipient of the signal mail")
    student_name: str = Field(description="the student's roepnaam, for the mail")
    mentor_name: str | None = None
    dossier_url: str


@event("dossier.returned_to_part_a", producer="dossier",
       summary="In the agreement step the student went back to part A: the whole round repeats.")
class DossierReturnedToPartA(Payload):
    dossier_id: uuid.UUID
    student_id: uuid.UUID
    mentor_staff_id: uuid.UUID | None = None


@event("dossier.parent_review_requested", producer="dossier",
       summary="The student asked a parent to read the dossier; the parent gets a mail with a signed, expiring link.")
class ParentReviewRequested(Payload):
    dossier_id: uuid.UUID
    parent_email: EmailStr = Field(description="recipient of the mail: a parent the school's roster knows, or, when "
                                               "it knows none, the address the student gave")
    student_name: str = Field(description="the student's full name, for the mail")
    school_name: str
    parent_rule: Literal["consent", "inspection"] = Field(
        description="consent: the parent's consent is needed; inspection: the parent may read and react")
    link_url: Sealed = Field(description="the personal link; whoever holds it can read this dossier until expires_at")
    expires_at: datetime


@event("dossier.parent_responded", producer="dossier",
       summary="A parent consented or objected through their link; the student gets a mail.")
class ParentResponded(Payload):
    dossier_id: uuid.UUID
    student_id: uuid.UUID
    decision: Literal["consent", "objection"]
    student_email: EmailStr | None = Field(None, description="recipient of the mail")
    student_name: str = Field(description="the student's roepnaam, for the mail")
    dossier_url: str


class CompletedStudent(Payload):
    """Who applies: enough for the MBO to match the person, no more (no BSN, no address)."""

    student_id: uuid.UUID = Field(description="the roster id at the VO school (stable, not a BSN)")
    roepnaam: str
    tussenvoegsel: str = ""
    achternaam: str
    date_of_birth: date


class CompletedSchool(Payload):
    """The VO school the student comes from."""

    school_id: uuid.UUID
    name: str
    brin: str | None = None


class CompletedProgramme(Payload):
    """What the student applies for. For a HAVO/VMBO choice kind and institution are set, and the
    year or profile (programme_id, name) when the student chose one."""

    kind: Literal["mbo", "havo", "vmbo"]
    institution_id: uuid.UUID
    institution_name: str | None = None
    programme_id: uuid.UUID | None = None
    name: str | None = None
    crebo: str | None = None
    level: int | None = None
    pathway: Literal["BOL", "BBL"] | None = None


@event("dossier.completed", producer="dossier",
       summary="The student completed the agreement: the dossier is final and addressed to the institution.")
class DossierCompleted(Payload):
    """The event MBO systems subscribe to (bind ``dossier.completed`` and filter on
    ``institution_id``, or on ``programme.institution_id`` which is the same).

    It tells a receiving school that a dossier is ready and whether it must act first: the
    two flags are the mentor's answers in part B ("OPP / warme overdracht" and "nader contact
    gewenst"), the ones the manual says the MBO must see. The content itself (part A, part B,
    the agreement) is read with ``GET /v1/dossiers/{dossier_id}`` by MBO staff of that
    institution, so every read is recorded and the content never sits in a queue.

    Choices made for this contract:

    * student: roster id, names and date of birth (to match an enrolment), no BSN, no contact
      data (those are in part A, behind the API);
    * school: the VO school the student comes from, with its BRIN code;
    * programme: the programme as it was in the catalogue at completion (name, CREBO, level,
      BOL/BBL) so the receiver needs no catalogue lookup;
    * no parent data; the parent's reaction is part of the dossier, behind the API;
    * only for a receiving school that takes part in Doorstroom (``identity.school_changed``
      ``participates``): a dossier for a school that does not, or for a school the student typed
      in (not in the list), goes to nobody: the student and the mentor hand the PDF over.
      ``programme.kind`` is the receiving school's kind (mbo, havo, vmbo).

    Additive changes keep ``dataversion`` 1 (consumers ignore unknown fields); a breaking change
    is a new version published next to the old one for a while.
    """

    dossier_id: uuid.UUID
    completed_at: datetime
    school_year: str = Field(description="the school year of the application, e.g. 2026-2027")
    institution_id: uuid.UUID = Field(description="the receiving institution (identity's school_id)")
    programme: CompletedProgramme
    student: CompletedStudent
    school: CompletedSchool
    warm_handover: bool = Field(description="the mentor reports an OPP / warme overdracht: contact before intake")
    contact_wanted: bool = Field(description="the mentor wants further contact with the receiving school")


@event("dossier.archived", producer="dossier",
       summary="A mentor or counsellor archived the dossier: out of overviews and reports, still there.")
class DossierArchived(Payload):
    """Archiving is a flag beside the state (a completed dossier stays completed and readable by its
    institution); the envelope's ``time`` is when it was archived."""

    dossier_id: uuid.UUID
    student_id: uuid.UUID
    by_role: ByRole
    school_id: uuid.UUID | None = Field(None, description="the student's VO school (absent in events published "
                                                          "before this field)")
    institution_id: uuid.UUID | None = Field(None, description="the institution the dossier is addressed to, when "
                                                               "a choice was made")


@event("dossier.reactivated", producer="dossier",
       summary="An archived dossier was activated again.")
class DossierReactivated(Payload):
    """The envelope's ``time`` is when it was activated again."""

    dossier_id: uuid.UUID
    student_id: uuid.UUID
    by_role: ByRole
    school_id: uuid.UUID | None = Field(None, description="the student's VO school (absent in events published "
                                                          "before this field)")
    institution_id: uuid.UUID | None = Field(None, description="the institution the dossier is addressed to, when "
                                                               "a choice was made")


@event("dossier.agreement_reminder_issued", producer="dossier",
       summary="The student has been in the agreement step too long and is reminded (on request or automatically).")
class AgreementReminderIssued(Payload):
    dossier_id: uuid.UUID
    student_id: uuid.UUID
    student_email: EmailStr | None = Field(None, description="recipient of the reminder")
    student_name: str = Field(description="the student's roepnaam, for the mail")
    waiting_days: int = Field(ge=0, description="days since part B was sent")
    automatic: bool
    mentor_name: str | None = None
    dossier_url: str


@event("dossier.handled", producer="dossier",
       summary="MBO staff marked a completed dossier as handled (\"afgehandeld\").")
class DossierHandled(Payload):
    """The receiving institution is done with the dossier; the student and the mentor see it. For
    the institution's own systems and for the VO school (``school_id``)."""

    dossier_id: uuid.UUID
    student_id: uuid.UUID
    institution_id: uuid.UUID = Field(description="the institution that handled it (the one it is addressed to)")
    handled_at: datetime
    school_id: uuid.UUID | None = Field(None, description="the student's VO school (absent in events published "
                                                          "before this field)")
    programme_id: uuid.UUID | None = Field(None, description="the programme applied for (an MBO choice)")


@event("dossier.retention_notice", producer="dossier",
       summary="Beforehand: on erase_on the retention rule erases this many dossiers and students of a school for "
               "good; the school admins are told (no names: the portal lists them).")
class RetentionNotice(Payload):
    school_id: uuid.UUID
    school_name: str
    retention_years: int = Field(ge=1, description="the school's rule: school years after completion or leaving")
    erase_on: date = Field(description="the first day the erasure may run; never earlier than the notice period")
    dossiers: int = Field(ge=0, description="completed dossiers whose retention ends")
    students: int = Field(ge=0, description="students who left, erased with their account, dossiers and files")
    recipients: list[EmailStr] = Field(description="the school admins (or, without any, the counsellors)")
    overview_url: str = Field(description="the portal page that lists what will be erased")


@event("dossier.erased", producer="dossier",
       summary="The retention rule erased a dossier for good (parts A and B, history, audit, parent links): "
               "subscribers delete what they keep of it (its PDFs, an MBO's copy as its own rules say).")
class DossierErased(Payload):
    dossier_id: uuid.UUID
    student_id: uuid.UUID
    school_id: uuid.UUID
    institution_id: uuid.UUID | None = Field(None, description="the institution a completed dossier went to")
    reason: Literal["completed", "student_left"] = Field(
        description="completed: its retention after completion ended; student_left: the student's after leaving")
    erased_at: datetime


@event("dossier.student_erased", producer="dossier",
       summary="The retention after a student left the school ended: the dossier service erased everything it "
               "held about them; identity erases the roster record and the account, every subscriber its data.")
class StudentErased(Payload):
    student_id: uuid.UUID
    school_id: uuid.UUID
    account_id: uuid.UUID | None = Field(None, description="the student's account, when one was linked")
    erased_at: datetime
