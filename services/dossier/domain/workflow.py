"""The dossier workflow: part_a -> part_b -> agreement -> completed, with `archived` beside it.

Pure logic, no I/O. Every action checks the role first (`ForbiddenAction`, HTTP 403), then the
state and its inputs (`TransitionError`, HTTP 409), and returns the new `DossierStatus`; the
status passed in is never changed. Both errors carry a Dutch `reason` and a stable `code`.

Rules beyond the manual, chosen here:

* A completed dossier is final: only `archive` and `reactivate` (which only toggle the flag)
  are allowed. An archived dossier accepts nothing but `reactivate` until it is reactivated.
* `reactivate` is open to the student (manual) and also to mentor and counsellor, so the one
  who archived by mistake can undo it.
* `back_to_part_a` starts a new round: part B answers stay, but approval, `part_b_started` and
  any parent decision are cleared (the parents reacted to the old content).
* Parent reactions are recorded only under the school settings consent or inspection, only for
  a student under 18. Under consent an objection blocks completion; under inspection it is kept
  as the parents' view (OSO `akkoord`/`redennietakkoord`) and does not block.
* Under `inspection` a minor's parents must have been informed (a link to read the dossier was
  sent to them) before the student completes; their reaction does not block.
* The student asks for the parents' reaction (`request_parent_review`) only where the school
  setting and the student's age give the parents a say.
* A reminder to fill in the agreement (`send_reminder`) is for staff, in the agreement step.
* MBO staff mark a completed dossier handled (`mark_handled`) once; archiving on the VO side
  does not hide it from the MBO, so this is allowed on an archived completed dossier too.
* Relations (is this the student's own dossier, is this mentor linked to the class) are the
  caller's to check; this module checks roles.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

ADULT_AGE = 18


class State(StrEnum):
    PART_A = "part_a"
    PART_B = "part_b"
    AGREEMENT = "agreement"
    COMPLETED = "completed"


STATE_LABELS: dict[State, str] = {
    State.PART_A: "Deel A invullen",
    State.PART_B: "Deel B invullen",
    State.AGREEMENT: "Akkoordverklaring invullen",
    State.COMPLETED: "Afgerond",
}
ARCHIVED_LABEL = "Gearchiveerd"


class ParentRule(StrEnum):
    """School setting: what parents of a student under 18 do before the dossier is sent."""

    CONSENT = "consent"
    INSPECTION = "inspection"
    NONE = "none"


class ParentDecision(StrEnum):
    CONSENT = "consent"
    OBJECTION = "objection"


# the parent's reaction in the words they chose it with (the parent page): under consent they
# agree or not; under inspection they read it and object or not (OSO inzage: akkoord)
PARENT_DECISION_LABELS: dict[tuple[ParentRule, ParentDecision], str] = {
    (ParentRule.CONSENT, ParentDecision.CONSENT): "Akkoord",
    (ParentRule.CONSENT, ParentDecision.OBJECTION): "Niet akkoord",
    (ParentRule.INSPECTION, ParentDecision.CONSENT): "Gelezen, geen bezwaar",
    (ParentRule.INSPECTION, ParentDecision.OBJECTION): "Bezwaar",
}


def parent_decision_label(rule: ParentRule, decision: ParentDecision) -> str:
    """The parent's reaction in words; a rule changed since (to none) reads as under inspection."""
    return PARENT_DECISION_LABELS[(rule if rule is ParentRule.CONSENT else ParentRule.INSPECTION, decision)]


class Role(StrEnum):
    STUDENT = "student"
    PARENT = "parent"
    MENTOR = "mentor"
    COUNSELLOR = "counsellor"
    MBO_STAFF = "mbo_staff"


ROLE_NAMES: dict[Role, str] = {
    Role.STUDENT: "de leerling",
    Role.PARENT: "een ouder of verzorger",
    Role.MENTOR: "een mentor",
    Role.COUNSELLOR: "een decaan",
    Role.MBO_STAFF: "een medewerker van de ontvangende school",
}


class Action(StrEnum):
    CREATE = "create"
    SAVE_PART_A = "save_part_a"
    SUBMIT_PART_A = "submit_part_a"
    SAVE_PART_B_STUDENT = "save_part_b_student"
    START_PART_B = "start_part_b"
    SAVE_PART_B_DOSSIER = "save_part_b_dossier"
    RESET_TO_PART_A = "reset_to_part_a"
    SEND_PART_B = "send_part_b"
    SAVE_AGREEMENT = "save_agreement"
    BACK_TO_PART_A = "back_to_part_a"
    COMPLETE = "complete"
    RECORD_PARENT_CONSENT = "record_parent_consent"
    RECORD_PARENT_OBJECTION = "record_parent_objection"
    ARCHIVE = "archive"
    REACTIVATE = "reactivate"
    REQUEST_PARENT_REVIEW = "request_parent_review"
    SEND_REMINDER = "send_reminder"
    MARK_HANDLED = "mark_handled"


_STAFF = frozenset({Role.MENTOR, Role.COUNSELLOR})
_STUDENT = frozenset({Role.STUDENT})

ALLOWED_ROLES: dict[Action, frozenset[Role]] = {
    Action.CREATE: _STUDENT,
    Action.SAVE_PART_A: _STUDENT,
    Action.SUBMIT_PART_A: _STUDENT,
    Action.SAVE_PART_B_STUDENT: _STAFF,
    Action.START_PART_B: _STAFF,
    Action.SAVE_PART_B_DOSSIER: _STAFF,
    Action.RESET_TO_PART_A: _STAFF | _STUDENT,
    Action.SEND_PART_B: _STAFF,
    Action.SAVE_AGREEMENT: _STUDENT,
    Action.BACK_TO_PART_A: _STUDENT,
    Action.COMPLETE: _STUDENT,
    Action.RECORD_PARENT_CONSENT: frozenset({Role.PARENT}),
    Action.RECORD_PARENT_OBJECTION: frozenset({Role.PARENT}),
    Action.ARCHIVE: _STAFF,
    Action.REACTIVATE: _STAFF | _STUDENT,
    Action.REQUEST_PARENT_REVIEW: _STUDENT,
    Action.SEND_REMINDER: _STAFF,
    Action.MARK_HANDLED: frozenset({Role.MBO_STAFF}),
}

ACTION_LABELS: dict[Action, str] = {
    Action.CREATE: "een nieuw dossier maken",
    Action.SAVE_PART_A: "deel A opslaan",
    Action.SUBMIT_PART_A: "deel A versturen naar de mentor",
    Action.SAVE_PART_B_STUDENT: "het leerling-specifieke deel van deel B opslaan",
    Action.START_PART_B: "deel B starten",
    Action.SAVE_PART_B_DOSSIER: "het dossier-specifieke deel van deel B opslaan",
    Action.RESET_TO_PART_A: "het dossier terugzetten naar deel A",
    Action.SEND_PART_B: "deel B versturen naar de leerling",
    Action.SAVE_AGREEMENT: "de akkoordverklaring opslaan",
    Action.BACK_TO_PART_A: "teruggaan naar deel A",
    Action.COMPLETE: "het dossier afronden",
    Action.RECORD_PARENT_CONSENT: "toestemming geven",
    Action.RECORD_PARENT_OBJECTION: "bezwaar maken",
    Action.ARCHIVE: "het dossier archiveren",
    Action.REACTIVATE: "het dossier opnieuw activeren",
    Action.REQUEST_PARENT_REVIEW: "een ouder of verzorger om een reactie vragen",
    Action.SEND_REMINDER: "een herinnering sturen",
    Action.MARK_HANDLED: "het dossier als afgehandeld markeren",
}


class WorkflowError(Exception):
    status = 400

    def __init__(self, reason: str, code: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.details = dict(details or {})


class TransitionError(WorkflowError):
    """The action does not fit the dossier's state or inputs (HTTP 409)."""

    status = 409


class ForbiddenAction(WorkflowError):
    """The role may not do this action at all (HTTP 403)."""

    status = 403


@dataclass(frozen=True)
class DossierStatus:
    state: State = State.PART_A
    archived: bool = False
    part_b_started: bool = False
    part_b_approved: bool = False
    parent_decision: ParentDecision | None = None
    mentor_id: str | None = None
    handled: bool = False

    @property
    def label(self) -> str:
        return ARCHIVED_LABEL if self.archived else STATE_LABELS[self.state]


def age_on(date_of_birth: date, day: date) -> int:
    """Age in whole years on `day` (born 29 February: a year older on 1 March)."""
    if day < date_of_birth:
        raise ValueError("day lies before date_of_birth")
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


# --------------------------------------------------------------------------- guards


def check_role(action: Action, role: Role) -> None:
    allowed = ALLOWED_ROLES[action]
    if role not in allowed:
        names = [ROLE_NAMES[r] for r in Role if r in allowed]
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " of " + names[-1]
        raise ForbiddenAction(f"Alleen {who} mag {ACTION_LABELS[action]}.", "role_not_allowed")


def _wrong_state(reason: str) -> TransitionError:
    return TransitionError(reason, "wrong_state")


_IN_AGREEMENT = "Dit kan alleen als het dossier in de stap 'Akkoordverklaring invullen' staat."


def _check_state(action: Action, status: DossierStatus) -> None:
    """The guards that depend on the dossier only; the inputs are checked per action."""
    if action == Action.MARK_HANDLED:
        if status.state != State.COMPLETED:
            raise _wrong_state("Alleen een afgerond dossier kan als afgehandeld worden gemarkeerd.")
        if status.handled:
            raise TransitionError("Dit dossier is al als afgehandeld gemarkeerd.", "already_handled")
        return
    if status.state == State.COMPLETED and action not in (Action.ARCHIVE, Action.REACTIVATE):
        raise TransitionError("Dit dossier is afgerond en kan niet meer worden gewijzigd.", "dossier_completed")
    if action == Action.ARCHIVE:
        if status.archived:
            raise TransitionError("Dit dossier is al gearchiveerd.", "already_archived")
        return
    if action == Action.REACTIVATE:
        if not status.archived:
            raise TransitionError("Dit dossier is niet gearchiveerd.", "not_archived")
        return
    if status.archived:
        raise TransitionError("Dit dossier is gearchiveerd. Activeer het eerst opnieuw.", "dossier_archived")
    match action:
        case Action.SAVE_PART_A | Action.SUBMIT_PART_A if status.state != State.PART_A:
            raise _wrong_state("Deel A is al naar de mentor verstuurd en kan nu niet worden gewijzigd.")
        case Action.START_PART_B | Action.SAVE_PART_B_DOSSIER | Action.SEND_PART_B if status.state != State.PART_B:
            if status.state == State.PART_A:
                raise _wrong_state(
                    "Het dossier-specifieke deel van deel B kan pas worden ingevuld als de leerling deel A heeft verstuurd."
                )
            raise _wrong_state("Deel B is al naar de leerling verstuurd en kan niet meer worden gewijzigd.")
        case Action.RESET_TO_PART_A:
            _check_reset(status)
        case Action.SAVE_AGREEMENT | Action.BACK_TO_PART_A | Action.COMPLETE if status.state != State.AGREEMENT:
            raise _wrong_state(_IN_AGREEMENT)
        case Action.RECORD_PARENT_CONSENT | Action.RECORD_PARENT_OBJECTION if status.state != State.AGREEMENT:
            raise _wrong_state("Ouders of verzorgers kunnen pas reageren als het dossier klaar is voor de akkoordverklaring.")
        case Action.REQUEST_PARENT_REVIEW if status.state != State.AGREEMENT:
            raise _wrong_state(_IN_AGREEMENT)
        case Action.SEND_REMINDER if status.state != State.AGREEMENT:
            raise _wrong_state("Een herinnering kan alleen als de leerling de akkoordverklaring nog moet invullen.")


def _check_reset(status: DossierStatus) -> None:
    if status.state == State.PART_A:
        raise _wrong_state("Het dossier staat al in deel A.")
    if status.state != State.PART_B:
        raise _wrong_state("Na het versturen van deel B kan het dossier niet meer worden teruggezet naar deel A.")
    if status.part_b_started:
        raise TransitionError(
            "Deel B is al gestart; het dossier kan niet meer worden teruggezet naar deel A.", "part_b_started"
        )


def _guard(action: Action, status: DossierStatus, role: Role) -> None:
    check_role(action, role)
    _check_state(action, status)


def available_actions(status: DossierStatus, role: Role) -> frozenset[Action]:
    """Actions whose role and state guards pass; input guards (completeness, chosen mentor,
    parent consent) are checked when the action is done. For buttons and links."""
    result = set()
    for action in Action:
        if action in (Action.CREATE, Action.SAVE_PART_B_STUDENT):
            continue  # not about an existing dossier
        try:
            _guard(action, status, role)
        except WorkflowError:
            continue
        result.add(action)
    return frozenset(result)


# --------------------------------------------------------------------------- actions


def create_dossier(role: Role) -> DossierStatus:
    check_role(Action.CREATE, role)
    return DossierStatus()


def save_part_a(status: DossierStatus, role: Role) -> DossierStatus:
    _guard(Action.SAVE_PART_A, status, role)
    return status


def submit_part_a(
    status: DossierStatus,
    role: Role,
    *,
    missing: Mapping[str, Sequence[str]],
    mentor_id: str | None,
    class_mentor_ids: Collection[str],
) -> DossierStatus:
    """`missing` is `forms.missing_required(form, "part_a", answers)`: empty when complete."""
    _guard(Action.SUBMIT_PART_A, status, role)
    if missing:
        raise TransitionError(
            "Deel A is nog niet helemaal ingevuld. Vul eerst alle verplichte vragen in.",
            "part_a_incomplete",
            {"missing": {k: list(v) for k, v in missing.items()}},
        )
    if not class_mentor_ids:
        raise TransitionError(
            "Er is nog geen mentor aan je klas gekoppeld. Neem contact op met je school.", "no_class_mentor"
        )
    if not mentor_id:
        raise TransitionError("Kies de mentor naar wie je deel A wilt versturen.", "mentor_required")
    if mentor_id not in class_mentor_ids:
        raise TransitionError(
            "Deze mentor is niet aan jouw klas gekoppeld. Kies een van de mentoren van je klas.", "mentor_not_linked"
        )
    return replace(
        status,
        state=State.PART_B,
        mentor_id=mentor_id,
        part_b_started=False,
        part_b_approved=False,
        parent_decision=None,
    )


def save_part_b_student(role: Role) -> None:
    """The student-specific part belongs to the student, not to a dossier: a mentor or
    counsellor may save it at any time, also before the student has a dossier."""
    check_role(Action.SAVE_PART_B_STUDENT, role)


def start_part_b(status: DossierStatus, role: Role) -> DossierStatus:
    _guard(Action.START_PART_B, status, role)
    return replace(status, part_b_started=True)


def save_part_b_dossier(status: DossierStatus, role: Role) -> DossierStatus:
    _guard(Action.SAVE_PART_B_DOSSIER, status, role)
    return replace(status, part_b_started=True)


def reset_to_part_a(status: DossierStatus, role: Role) -> DossierStatus:
    _guard(Action.RESET_TO_PART_A, status, role)
    return replace(status, state=State.PART_A)


def send_part_b(status: DossierStatus, role: Role, *, missing: Mapping[str, Sequence[str]]) -> DossierStatus:
    """The mentor approves part B and sends it. `missing` is `missing_required(form, "part_b", ...)`."""
    _guard(Action.SEND_PART_B, status, role)
    if missing:
        raise TransitionError(
            "Deel B is nog niet helemaal ingevuld. Vul eerst alle verplichte vragen in.",
            "part_b_incomplete",
            {"missing": {k: list(v) for k, v in missing.items()}},
        )
    return replace(status, state=State.AGREEMENT, part_b_started=True, part_b_approved=True)


def save_agreement(status: DossierStatus, role: Role) -> DossierStatus:
    """The student saves the agreement page (for instance a remark on part B)."""
    _guard(Action.SAVE_AGREEMENT, status, role)
    return status


def back_to_part_a(status: DossierStatus, role: Role) -> DossierStatus:
    _guard(Action.BACK_TO_PART_A, status, role)
    return replace(status, state=State.PART_A, part_b_started=False, part_b_approved=False, parent_decision=None)


def parent_consent_needed(parent_rule: ParentRule, date_of_birth: date, day: date) -> bool:
    return parent_rule == ParentRule.CONSENT and age_on(date_of_birth, day) < ADULT_AGE


def parents_have_a_say(parent_rule: ParentRule, date_of_birth: date, day: date) -> bool:
    """Whether the parents of this student are asked to read the dossier (and may react)."""
    return parent_rule != ParentRule.NONE and age_on(date_of_birth, day) < ADULT_AGE


def complete(
    status: DossierStatus, role: Role, *, parent_rule: ParentRule, date_of_birth: date, today: date,
    parent_informed: bool = True,
) -> DossierStatus:
    """`parent_informed`: a link to read the dossier was sent to a parent in this round."""
    _guard(Action.COMPLETE, status, role)
    if (parent_rule == ParentRule.INSPECTION and age_on(date_of_birth, today) < ADULT_AGE
            and not parent_informed and status.parent_decision is None):
        raise TransitionError(
            "Omdat je jonger bent dan 18 jaar, mag je ouder of verzorger het dossier eerst inzien. "
            "Vul hun e-mailadres in en stuur de link.",
            "parent_not_informed",
        )
    if parent_consent_needed(parent_rule, date_of_birth, today):
        if status.parent_decision == ParentDecision.OBJECTION:
            raise TransitionError(
                "Je ouder of verzorger gaat niet akkoord met het versturen van dit dossier. Neem contact op met je mentor.",
                "parent_objection",
            )
        if status.parent_decision != ParentDecision.CONSENT:
            raise TransitionError(
                "Omdat je jonger bent dan 18 jaar, moet je ouder of verzorger eerst toestemming geven.",
                "parent_consent_required",
            )
    return replace(status, state=State.COMPLETED)


def _check_parents_have_a_say(parent_rule: ParentRule, date_of_birth: date, today: date) -> None:
    if parent_rule == ParentRule.NONE:
        raise TransitionError("Op deze school is geen reactie van ouders of verzorgers nodig.", "parent_rule_none")
    if age_on(date_of_birth, today) >= ADULT_AGE:
        raise TransitionError(
            "De leerling is 18 jaar of ouder; een reactie van ouders of verzorgers is niet nodig.", "student_adult"
        )


def _record_parent(
    action: Action, decision: ParentDecision, status: DossierStatus, role: Role,
    parent_rule: ParentRule, date_of_birth: date, today: date,
) -> DossierStatus:
    _guard(action, status, role)
    _check_parents_have_a_say(parent_rule, date_of_birth, today)
    return replace(status, parent_decision=decision)


def request_parent_review(
    status: DossierStatus, role: Role, *, parent_rule: ParentRule, date_of_birth: date, today: date
) -> DossierStatus:
    """The student sends a parent a link to read the dossier (and consent or object). A new
    request replaces the earlier one; a decision already given stays until the round ends."""
    _guard(Action.REQUEST_PARENT_REVIEW, status, role)
    _check_parents_have_a_say(parent_rule, date_of_birth, today)
    return status


def send_reminder(status: DossierStatus, role: Role) -> DossierStatus:
    _guard(Action.SEND_REMINDER, status, role)
    return status


def mark_handled(status: DossierStatus, role: Role) -> DossierStatus:
    _guard(Action.MARK_HANDLED, status, role)
    return replace(status, handled=True)


def record_parent_consent(
    status: DossierStatus, role: Role, *, parent_rule: ParentRule, date_of_birth: date, today: date
) -> DossierStatus:
    return _record_parent(
        Action.RECORD_PARENT_CONSENT, ParentDecision.CONSENT, status, role, parent_rule, date_of_birth, today
    )


def record_parent_objection(
    status: DossierStatus, role: Role, *, parent_rule: ParentRule, date_of_birth: date, today: date
) -> DossierStatus:
    return _record_parent(
        Action.RECORD_PARENT_OBJECTION, ParentDecision.OBJECTION, status, role, parent_rule, date_of_birth, today
    )


def archive(status: DossierStatus, role: Role) -> DossierStatus:
    _guard(Action.ARCHIVE, status, role)
    return replace(status, archived=True)


def reactivate(status: DossierStatus, role: Role) -> DossierStatus:
    _guard(Action.REACTIVATE, status, role)
    return replace(status, archived=False)
