"""Every event type of Doorstroom, with its payload. These modules ARE the published contract:
docs/asyncapi.json is generated from them (``python -m shared.events.asyncapi``).

One module per producing service; importing this module registers them all. Events carry what a
consumer needs to act and no more personal data than that: never a BSN.

What a subscriber needs beside the payload is kept here, per event type, and published with it:

* ``DETAILS``: the HTTP call that reads the details (``x-fetch`` in the AsyncAPI document), or why
  there is none;
* ``PERSONAL_DATA``: the fields of ``data`` that carry personal data (``x-personal-data``); no other
  field does. Ids (``student_id``, ``account_id``, ``staff_id``) are pseudonymous roster ids.

A new event type needs an entry in both (``tests/unit/test_contract.py`` says so).
"""
from __future__ import annotations

from shared.events.identity_events import *  # noqa: F401,F403
from shared.events.dossier_events import *  # noqa: F401,F403
from shared.events.document_events import *  # noqa: F401,F403
from shared.events.registry import Fetch, NothingToFetch

_DOSSIER_READERS = ("the student; mentors of the student's class and counsellors of the school; once the dossier "
                    "is completed, MBO staff of the institution it is addressed to (institution_id). Every read is "
                    "recorded in the dossier's access log")
_DOSSIER = Fetch("dossier", "GET", "/v1/dossiers/{dossier_id}", who=_DOSSIER_READERS,
                 note="the dossier as the caller may see it: state, progress, parts A and B, the agreement; its "
                      "history: GET /v1/dossiers/{dossier_id}/history")
_STUDENT = Fetch("identity", "GET", "/v1/students/{student_id}",
                 who="mentors of the student's class, counsellors and school admins of the school",
                 note="the roster record (no BSN)")
_STAFF = Fetch("identity", "GET", "/v1/staff/{staff_id}",
               who="the platform administrator; school admins and counsellors of the staff member's school")
_PRINT_JOB = Fetch("document", "GET", "/v1/print-jobs/{job_id}",
                   who="the one who asked for it (requested_by), counsellors of the school",
                   note="the PDF itself: GET /v1/print-jobs/{job_id}/pdf, for the one who asked")
_MAIL_ONLY = NothingToFetch("a signal for a mail to the address in data; its link (sealed) is for that person only, "
                            "and no call adds to it")

DETAILS: dict[str, Fetch | NothingToFetch] = {
    # identity
    "identity.verification_requested": _MAIL_ONLY,
    "identity.school_changed": Fetch(
        "identity", "GET", "/v1/schools/{school_id}",
        who="the platform administrator; staff of that school or institution",
        note="a participating MBO institution with its programmes is public: GET /v1/institutions/{school_id}"),
    "identity.student_changed": _STUDENT,
    "identity.class_mentors_changed": Fetch(
        "identity", "GET", "/v1/classes", who="counsellors and school admins of the school; a mentor: own classes",
        note="the school's classes with their mentors; find class_id in it"),
    "identity.staff_changed": _STAFF,
    "identity.activation_code_issued": _STUDENT,
    "identity.activation_letters_requested": Fetch(
        "document", "GET", "/v1/print-jobs", query=("batch_id",),
        who="the one who asked for the letters (requested_by), counsellors of the school",
        note="the print job the document service makes of the batch, once it has"),
    "identity.activation_code_redeemed": _STUDENT,
    "identity.account_exists_notice": _MAIL_ONLY,
    "identity.password_reset_requested": _MAIL_ONLY,
    "identity.password_changed": NothingToFetch("a notice to the account's owner; the event is the whole fact"),
    "identity.staff_invited": _STAFF,
    "identity.access_ended": NothingToFetch("the event is the whole fact: refuse the tokens it covers"),
    "identity.bsn_claim_released": NothingToFetch("a notice to the released account's owner; the event is the "
                                                  "whole fact"),
    "identity.client_revoked": NothingToFetch("the event is the whole fact: refuse the client's tokens (sub = "
                                              "client_id) issued at or before revoked_at"),
    # dossier
    "dossier.created": _DOSSIER,
    "dossier.part_a_submitted": _DOSSIER,
    "dossier.reset_to_part_a": _DOSSIER,
    "dossier.part_b_started": _DOSSIER,
    "dossier.part_b_sent": _DOSSIER,
    "dossier.returned_to_part_a": _DOSSIER,
    "dossier.parent_review_requested": Fetch(
        "dossier", "GET", "/v1/dossiers/{dossier_id}", who=_DOSSIER_READERS,
        note="the parent reads it with the link of the mail: GET /v1/parent/dossier"),
    "dossier.parent_responded": _DOSSIER,
    "dossier.completed": Fetch(
        "dossier", "GET", "/v1/dossiers/{dossier_id}", who=_DOSSIER_READERS,
        note="Published only when the receiving school takes part in Doorstroom (any kind: mbo, havo, vmbo). "
             "Receiving staff of institution_id read the final dossier (parts A and B, the agreement, the parent's "
             "reaction) here; as PDF: GET /v1/dossiers/{dossier_id}/pdf?part=all (document service); the "
             "institution's inbox: GET /v1/mbo/dossiers. A machine client of institution_id (OAuth 2.0 client "
             "credentials, scope dossiers:read): GET /v1/feed/dossiers/{dossier_id} (JSON with the form's labels), "
             "GET /v1/feed/completed?after= (the feed, to catch up); as OSO XML: GET /v1/mbo/dossiers/{dossier_id}/oso "
             "(staff and clients alike)"),
    "dossier.archived": _DOSSIER,
    "dossier.reactivated": _DOSSIER,
    "dossier.agreement_reminder_issued": _DOSSIER,
    "dossier.handled": _DOSSIER,
    "dossier.retention_notice": Fetch(
        "dossier", "GET", "/v1/retention", who="school admins and counsellors of the school (school_id)",
        note="what the retention rule will erase, and when, with names, for the school only"),
    "dossier.erased": NothingToFetch("erased for good: nothing is left to read; delete what you keep of it"),
    "dossier.student_erased": NothingToFetch("erased for good: nothing is left to read; delete what you keep "
                                             "of the student"),
    # document
    "document.print_job_completed": _PRINT_JOB,
    "document.print_job_failed": _PRINT_JOB,
}

_STUDENT_NAMES = ("roepnaam", "voornamen", "tussenvoegsel", "achternaam")

PERSONAL_DATA: dict[str, tuple[str, ...]] = {
    # identity
    "identity.verification_requested": ("email",),
    "identity.school_changed": (),
    "identity.student_changed": ("student_number", *_STUDENT_NAMES, "date_of_birth", "email", "account_email",
                                 "parents"),
    "identity.class_mentors_changed": ("mentors[].name", "mentors[].email"),
    "identity.staff_changed": ("name", "email"),
    "identity.activation_code_issued": ("email", "student_name"),
    "identity.activation_letters_requested": ("requested_by_email", "letters[].student_name", "letters[].sort_name"),
    "identity.activation_code_redeemed": (),
    "identity.account_exists_notice": ("email",),
    "identity.password_reset_requested": ("email",),
    "identity.password_changed": ("email",),
    "identity.staff_invited": ("email", "name"),
    "identity.access_ended": (),
    "identity.bsn_claim_released": ("email",),
    "identity.client_revoked": (),
    # dossier
    "dossier.created": (),
    "dossier.part_a_submitted": ("mentor_name", "mentor_email", "student_name"),
    "dossier.reset_to_part_a": ("student_email", "student_name"),
    "dossier.part_b_started": (),
    "dossier.part_b_sent": ("student_email", "student_name", "mentor_name"),
    "dossier.returned_to_part_a": (),
    "dossier.parent_review_requested": ("parent_email", "student_name"),
    "dossier.parent_responded": ("student_email", "student_name"),
    "dossier.completed": ("student.roepnaam", "student.tussenvoegsel", "student.achternaam", "student.date_of_birth"),
    "dossier.archived": (),
    "dossier.reactivated": (),
    "dossier.agreement_reminder_issued": ("student_email", "student_name", "mentor_name"),
    "dossier.handled": (),
    "dossier.retention_notice": ("recipients",),
    "dossier.erased": (),
    "dossier.student_erased": (),
    # document
    "document.print_job_completed": ("requested_by_email",),
    "document.print_job_failed": ("requested_by_email",),
}
