"""Events published by the identity service."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import EmailStr, Field

from shared.events.payload import Payload
from shared.events.registry import event
from shared.sealing import Sealed

__all__ = ["VerificationRequested", "SchoolChanged", "Programme", "Location", "StudentChanged",
           "ClassMentorsChanged", "Mentor", "StaffChanged", "ActivationCodeIssued",
           "ActivationLettersRequested", "ActivationLetter", "ActivationCodeRedeemed", "AccountExistsNotice",
           "PasswordResetRequested", "PasswordChanged", "StaffInvited", "AccessEnded", "BsnClaimReleased",
           "ParentContact", "ClientRevoked"]

ParentRule = Literal["consent", "inspection", "none"]


@event("identity.verification_requested", producer="identity",
       summary="Someone asked to verify an e-mail address; the link lets them continue.")
class VerificationRequested(Payload):
    verification_id: uuid.UUID
    email: EmailStr
    verify_url: Sealed = Field(description="single-use link that expires at expires_at")
    expires_at: datetime


class Location(Payload):
    location_id: uuid.UUID
    name: str
    address: str | None = None
    city: str | None = None


class Programme(Payload):
    """An MBO programme (crebo, level and pathway set) or a HAVO/VMBO school's year, profile or
    leerweg (name and profile; crebo, level and pathway null)."""
    programme_id: uuid.UUID
    name: str
    crebo: str | None = Field(None, description="the programme's CREBO code (mbo; null for havo/vmbo)")
    level: int | None = Field(None, ge=1, le=4, description="mbo")
    pathway: Literal["BOL", "BBL"] | None = Field(None, description="mbo")
    profile: str | None = Field(None, description="havo/vmbo: profiel or leerweg, e.g. Natuur en Gezondheid")
    location_id: uuid.UUID | None = None


@event("identity.school_changed", producer="identity",
       summary="A VO school or a receiving school (mbo, havo, vmbo) was created or changed (with its catalogue).")
class SchoolChanged(Payload):
    school_id: uuid.UUID
    kind: Literal["vo", "mbo", "havo", "vmbo"] = Field(
        description="vo: a sending school with a roster; mbo, havo, vmbo: a receiving school")
    name: str
    brin: str | None = None
    city: str | None = None
    participates: bool = Field(True, description="a receiving school that takes part in Doorstroom (its staff get "
                                                 "completed dossiers); false: students hand over the PDF")
    parent_rule: ParentRule = Field("consent", description="VO setting: parent consent, inspection or none")
    retention_years: int = Field(2, ge=1, le=10, description=(
        "VO setting, the retention rule: a completed dossier is erased this many school years after the school "
        "year it was completed in, a student who left (with their account, dossiers and files) this many after "
        "the school year they left in; the school is told beforehand (dossier.retention_notice)"))
    locations: list[Location] = []
    programmes: list[Programme] = []


class ParentContact(Payload):
    """A parent or guardian as the school's roster has them (optional columns of the roster CSV)."""

    name: str | None = None
    email: EmailStr
    relation: str | None = Field(None, description="as the school wrote it: moeder, vader, verzorger, voogd, ...")


@event("identity.student_changed", producer="identity",
       summary="A student record of a school's roster was created or changed (no BSN).")
class StudentChanged(Payload):
    student_id: uuid.UUID
    school_id: uuid.UUID
    student_number: str
    roepnaam: str
    voornamen: str = ""
    tussenvoegsel: str = ""
    achternaam: str
    date_of_birth: date
    class_id: uuid.UUID
    class_name: str
    school_year: int = Field(description="leerjaar")
    email: EmailStr | None = Field(None, description="the address in the school's roster (may be absent)")
    account_id: uuid.UUID | None = Field(None, description="the student's account once a code is redeemed")
    account_email: EmailStr | None = Field(
        None, description="the verified address of the student's own account (set once a code is redeemed): mail "
                          "to the student goes here, the roster's address only while there is no account. Absent "
                          "from producers before this field: keep what you knew")
    active: bool = True
    left_on: date | None = Field(None, description="the day the school marked the student as left (a roster import "
                                                   "or a new school year); set while active is false")
    parents: list[ParentContact] | None = Field(
        None, description="the parents or guardians the school's roster knows (the dossier asks them, not an "
                          "address the student types). Absent (null): not told, keep what you knew; []: none known")


class Mentor(Payload):
    staff_id: uuid.UUID
    account_id: uuid.UUID | None = None
    name: str
    email: EmailStr


@event("identity.class_mentors_changed", producer="identity",
       summary="The mentors linked to a class changed (the full list, not a delta).")
class ClassMentorsChanged(Payload):
    school_id: uuid.UUID
    class_id: uuid.UUID
    class_name: str
    school_year: int
    mentors: list[Mentor]


@event("identity.staff_changed", producer="identity",
       summary="A staff member (mentor, counsellor, school admin, MBO staff) was created or changed.")
class StaffChanged(Payload):
    staff_id: uuid.UUID
    account_id: uuid.UUID | None = None
    school_id: uuid.UUID | None = Field(None, description="the VO school or MBO institution")
    role: Literal["mentor", "counsellor", "school_admin", "mbo_staff", "admin"]
    name: str
    email: EmailStr
    active: bool = True
    daily_digest: bool = Field(True, description="MBO staff: wants the daily digest mail (the number of new "
                                                 "completed dossiers); false when they switched it off")


@event("identity.activation_code_issued", producer="identity",
       summary="An activation code was issued to one student by e-mail; the mail carries it.")
class ActivationCodeIssued(Payload):
    code_id: uuid.UUID
    batch_id: uuid.UUID
    student_id: uuid.UUID
    school_id: uuid.UUID
    school_name: str
    channel: Literal["email", "letter"]
    email: EmailStr | None = Field(None, description="only for channel email")
    student_name: str
    code: Sealed | None = Field(None, description="the code itself, only for channel email")
    expires_at: date
    register_url: str


class ActivationLetter(Payload):
    student_id: uuid.UUID
    student_name: str
    sort_name: str = Field(description="achternaam, roepnaam tussenvoegsel: the print order within a class")
    class_name: str
    code: Sealed = Field(description="the student's activation code")


@event("identity.activation_letters_requested", producer="identity",
       summary="Activation codes were issued by printed letter: one print job for the whole batch.")
class ActivationLettersRequested(Payload):
    batch_id: uuid.UUID
    school_id: uuid.UUID
    school_name: str
    requested_by: uuid.UUID = Field(description="account id of the counsellor or mentor")
    requested_by_email: EmailStr
    expires_at: date
    register_url: str
    letters: list[ActivationLetter]


@event("identity.activation_code_redeemed", producer="identity",
       summary="A student redeemed a code: the account is now linked to the roster record.")
class ActivationCodeRedeemed(Payload):
    student_id: uuid.UUID
    account_id: uuid.UUID
    school_id: uuid.UUID


@event("identity.account_exists_notice", producer="identity",
       summary="Someone registered with an address or BSN that already has an account; its owner is told.")
class AccountExistsNotice(Payload):
    account_id: uuid.UUID
    email: EmailStr = Field(description="the existing account's address (not the one typed in)")
    login_url: str
    reset_url: str = Field(description="where to ask for a new password")


@event("identity.password_reset_requested", producer="identity",
       summary="Someone asked for a new password for a known address; the link lets them set one.")
class PasswordResetRequested(Payload):
    account_id: uuid.UUID
    email: EmailStr
    reset_url: Sealed = Field(description="single-use link that expires at expires_at")
    expires_at: datetime


@event("identity.password_changed", producer="identity",
       summary="An account's password was changed (every session ended); its owner gets a notice.")
class PasswordChanged(Payload):
    account_id: uuid.UUID
    email: EmailStr
    changed_at: datetime


@event("identity.staff_invited", producer="identity",
       summary="A staff member was invited: the link lets them set a password and log in.")
class StaffInvited(Payload):
    staff_id: uuid.UUID
    account_id: uuid.UUID
    email: EmailStr
    name: str
    role: Literal["mentor", "counsellor", "school_admin", "mbo_staff", "admin"]
    school_name: str | None = None
    accept_url: Sealed = Field(description="single-use link that expires at expires_at")
    expires_at: datetime


@event("identity.access_ended", producer="identity",
       summary="Access of an account ended: one session (logout) or all of them (password changed, account "
               "deactivated). Every service refuses the access tokens this covers from then on.")
class AccessEnded(Payload):
    account_id: uuid.UUID
    session_id: str | None = Field(None, description="the one session that ended; absent: every session of the "
                                                     "account that began before ended_at")
    reason: Literal["logout", "password_changed", "deactivated", "session_revoked"]
    ended_at: datetime = Field(description="tokens of the covered sessions issued at or before this moment are void")


@event("identity.bsn_claim_released", producer="identity",
       summary="Another account redeemed the activation code of the student whose BSN this account gave at "
               "registration: this account's claim on the BSN is released and its owner is told. No BSN, no name.")
class BsnClaimReleased(Payload):
    account_id: uuid.UUID
    email: EmailStr = Field(description="the address of the released account")
    released_at: datetime
    login_url: str


@event("identity.client_revoked", producer="identity",
       summary="A machine client (OAuth 2.0 client credentials, e.g. an MBO's student administration) was revoked: "
               "it gets no more tokens, and every service refuses the tokens it was given before revoked_at.")
class ClientRevoked(Payload):
    client_id: uuid.UUID = Field(description="the client's id: the sub and client_id of its access tokens")
    institution_id: uuid.UUID
    revoked_at: datetime = Field(description="tokens of the client issued at or before this moment are void")
