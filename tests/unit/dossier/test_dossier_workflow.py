"""Unit tests of the dossier state machine: every action by role and state, guards and parent rules."""

from dataclasses import replace
from datetime import date

import pytest

from services.dossier.domain import workflow as wf
from services.dossier.domain.workflow import (
    Action,
    DossierStatus,
    ForbiddenAction,
    ParentDecision,
    ParentRule,
    Role,
    State,
    TransitionError,
)

TODAY = date(2027, 3, 1)
MINOR = date(2010, 6, 1)  # 16 today
ADULT = date(2008, 1, 1)  # 19 today
EIGHTEEN_TODAY = date(2009, 3, 1)

STATUSES = {
    "part_a": DossierStatus(),
    "part_b": DossierStatus(state=State.PART_B, mentor_id="m1"),
    "part_b_started": DossierStatus(state=State.PART_B, mentor_id="m1", part_b_started=True),
    "agreement": DossierStatus(state=State.AGREEMENT, mentor_id="m1", part_b_started=True, part_b_approved=True),
    "completed": DossierStatus(state=State.COMPLETED, mentor_id="m1", part_b_started=True, part_b_approved=True),
}
STATUSES |= {f"{key}+archived": replace(status, archived=True) for key, status in list(STATUSES.items())}
ACTIVE = {k for k in STATUSES if not k.endswith("+archived")}
ARCHIVED = set(STATUSES) - ACTIVE

# Each action with inputs that let its own input guards pass.
CALLS = {
    Action.SAVE_PART_A: lambda s, r: wf.save_part_a(s, r),
    Action.SUBMIT_PART_A: lambda s, r: wf.submit_part_a(s, r, missing={}, mentor_id="m1", class_mentor_ids={"m1", "m2"}),
    Action.START_PART_B: lambda s, r: wf.start_part_b(s, r),
    Action.SAVE_PART_B_DOSSIER: lambda s, r: wf.save_part_b_dossier(s, r),
    Action.RESET_TO_PART_A: lambda s, r: wf.reset_to_part_a(s, r),
    Action.SEND_PART_B: lambda s, r: wf.send_part_b(s, r, missing={}),
    Action.SAVE_AGREEMENT: lambda s, r: wf.save_agreement(s, r),
    Action.BACK_TO_PART_A: lambda s, r: wf.back_to_part_a(s, r),
    Action.COMPLETE: lambda s, r: wf.complete(s, r, parent_rule=ParentRule.NONE, date_of_birth=MINOR, today=TODAY),
    Action.RECORD_PARENT_CONSENT: lambda s, r: wf.record_parent_consent(
        s, r, parent_rule=ParentRule.CONSENT, date_of_birth=MINOR, today=TODAY
    ),
    Action.RECORD_PARENT_OBJECTION: lambda s, r: wf.record_parent_objection(
        s, r, parent_rule=ParentRule.CONSENT, date_of_birth=MINOR, today=TODAY
    ),
    Action.ARCHIVE: lambda s, r: wf.archive(s, r),
    Action.REACTIVATE: lambda s, r: wf.reactivate(s, r),
    Action.REQUEST_PARENT_REVIEW: lambda s, r: wf.request_parent_review(
        s, r, parent_rule=ParentRule.CONSENT, date_of_birth=MINOR, today=TODAY
    ),
    Action.SEND_REMINDER: lambda s, r: wf.send_reminder(s, r),
    Action.MARK_HANDLED: lambda s, r: wf.mark_handled(s, r),
}

S, P, M, C, MBO = Role.STUDENT, Role.PARENT, Role.MENTOR, Role.COUNSELLOR, Role.MBO_STAFF

# action: (roles allowed, statuses it may start from, resulting state (None: unchanged),
#          archived after (None: unchanged))
TABLE = {
    Action.SAVE_PART_A: ({S}, {"part_a"}, None, False),
    Action.SUBMIT_PART_A: ({S}, {"part_a"}, State.PART_B, False),
    Action.START_PART_B: ({M, C}, {"part_b", "part_b_started"}, None, False),
    Action.SAVE_PART_B_DOSSIER: ({M, C}, {"part_b", "part_b_started"}, None, False),
    Action.RESET_TO_PART_A: ({S, M, C}, {"part_b"}, State.PART_A, False),
    Action.SEND_PART_B: ({M, C}, {"part_b", "part_b_started"}, State.AGREEMENT, False),
    Action.SAVE_AGREEMENT: ({S}, {"agreement"}, None, False),
    Action.BACK_TO_PART_A: ({S}, {"agreement"}, State.PART_A, False),
    Action.COMPLETE: ({S}, {"agreement"}, State.COMPLETED, False),
    Action.RECORD_PARENT_CONSENT: ({P}, {"agreement"}, None, False),
    Action.RECORD_PARENT_OBJECTION: ({P}, {"agreement"}, None, False),
    Action.ARCHIVE: ({M, C}, ACTIVE, None, True),
    Action.REACTIVATE: ({S, M, C}, ARCHIVED, None, False),
    Action.REQUEST_PARENT_REVIEW: ({S}, {"agreement"}, None, False),
    Action.SEND_REMINDER: ({M, C}, {"agreement"}, None, False),
    Action.MARK_HANDLED: ({MBO}, {"completed", "completed+archived"}, None, None),
}


def _cases():
    for action, (roles, allowed_from, _, _) in TABLE.items():
        for role in Role:
            for key in STATUSES:
                if role not in roles:
                    outcome = "forbidden"
                else:
                    outcome = "ok" if key in allowed_from else "conflict"
                yield pytest.param(action, role, key, outcome, id=f"{action}-{role}-{key}-{outcome}")


@pytest.mark.parametrize("action, role, key, outcome", list(_cases()))
def test_every_action_by_role_and_state(action, role, key, outcome):
    status = STATUSES[key]
    _, _, next_state, archived_after = TABLE[action]
    if outcome == "forbidden":
        with pytest.raises(ForbiddenAction) as err:
            CALLS[action](status, role)
        assert err.value.code == "role_not_allowed" and err.value.status == 403
        assert err.value.reason.startswith("Alleen ")
    elif outcome == "conflict":
        with pytest.raises(TransitionError) as err:
            CALLS[action](status, role)
        assert err.value.status == 409 and err.value.reason
    else:
        new = CALLS[action](status, role)
        assert new.state == (next_state or status.state)
        assert new.archived is (status.archived if archived_after is None else archived_after)


def test_table_covers_every_dossier_action():
    assert set(TABLE) == set(Action) - {Action.CREATE, Action.SAVE_PART_B_STUDENT}
    for action, (roles, *_rest) in TABLE.items():
        assert wf.ALLOWED_ROLES[action] == roles


@pytest.mark.parametrize(
    "action, key, code",
    [
        (Action.SAVE_PART_A, "part_b", "wrong_state"),
        (Action.SUBMIT_PART_A, "agreement", "wrong_state"),
        (Action.START_PART_B, "part_a", "wrong_state"),
        (Action.SAVE_PART_B_DOSSIER, "agreement", "wrong_state"),
        (Action.SEND_PART_B, "part_a", "wrong_state"),
        (Action.RESET_TO_PART_A, "part_a", "wrong_state"),
        (Action.RESET_TO_PART_A, "part_b_started", "part_b_started"),
        (Action.RESET_TO_PART_A, "agreement", "wrong_state"),
        (Action.RESET_TO_PART_A, "completed", "dossier_completed"),
        (Action.BACK_TO_PART_A, "part_b", "wrong_state"),
        (Action.COMPLETE, "part_b_started", "wrong_state"),
        (Action.COMPLETE, "completed", "dossier_completed"),
        (Action.RECORD_PARENT_CONSENT, "part_b", "wrong_state"),
        (Action.RECORD_PARENT_CONSENT, "completed", "dossier_completed"),
        (Action.SAVE_AGREEMENT, "agreement+archived", "dossier_archived"),
        (Action.SUBMIT_PART_A, "part_a+archived", "dossier_archived"),
        (Action.COMPLETE, "completed+archived", "dossier_completed"),
        (Action.ARCHIVE, "part_b+archived", "already_archived"),
        (Action.ARCHIVE, "completed+archived", "already_archived"),
        (Action.REACTIVATE, "part_a", "not_archived"),
    ],
)
def test_refusals_have_a_code(action, key, code):
    role = next(iter(sorted(TABLE[action][0])))
    with pytest.raises(TransitionError) as err:
        CALLS[action](STATUSES[key], role)
    assert err.value.code == code


def test_forbidden_reason_names_who_may():
    with pytest.raises(ForbiddenAction, match=r"^Alleen een mentor of een decaan mag deel B versturen naar de leerling\.$"):
        wf.send_part_b(STATUSES["part_b"], Role.STUDENT, missing={})
    with pytest.raises(ForbiddenAction, match=r"^Alleen de leerling, een mentor of een decaan mag het dossier terugzetten"):
        wf.reset_to_part_a(STATUSES["part_b"], Role.PARENT)
    with pytest.raises(ForbiddenAction, match=r"^Alleen de leerling mag het dossier afronden\.$"):
        wf.complete(STATUSES["agreement"], Role.MENTOR, parent_rule=ParentRule.NONE, date_of_birth=ADULT, today=TODAY)


def test_role_is_checked_before_state():
    with pytest.raises(ForbiddenAction):
        wf.archive(STATUSES["completed+archived"], Role.PARENT)


# --------------------------------------------------------------------------- part A and B


def test_create_dossier_is_for_students():
    assert wf.create_dossier(Role.STUDENT) == DossierStatus(state=State.PART_A)
    with pytest.raises(ForbiddenAction):
        wf.create_dossier(Role.MENTOR)


def test_submit_part_a_needs_a_complete_part_a():
    with pytest.raises(TransitionError) as err:
        wf.submit_part_a(
            STATUSES["part_a"], Role.STUDENT, missing={"motivation": ["expectations"]}, mentor_id="m1",
            class_mentor_ids={"m1"},
        )
    assert err.value.code == "part_a_incomplete"
    assert err.value.details == {"missing": {"motivation": ["expectations"]}}
    assert "niet helemaal ingevuld" in err.value.reason


@pytest.mark.parametrize(
    "mentor_id, class_mentors, code",
    [(None, {"m1"}, "mentor_required"), ("", {"m1"}, "mentor_required"), ("m9", {"m1", "m2"}, "mentor_not_linked"),
     ("m1", set(), "no_class_mentor")],
)
def test_submit_part_a_needs_a_mentor_of_the_class(mentor_id, class_mentors, code):
    with pytest.raises(TransitionError) as err:
        wf.submit_part_a(STATUSES["part_a"], Role.STUDENT, missing={}, mentor_id=mentor_id, class_mentor_ids=class_mentors)
    assert err.value.code == code


def test_submit_part_a_records_the_chosen_mentor():
    new = wf.submit_part_a(STATUSES["part_a"], Role.STUDENT, missing={}, mentor_id="m2", class_mentor_ids=["m1", "m2"])
    assert new == DossierStatus(state=State.PART_B, mentor_id="m2")
    assert new.label == "Deel B invullen"


@pytest.mark.parametrize("role", [Role.MENTOR, Role.COUNSELLOR])
def test_part_b_student_specific_part_may_be_saved_any_time_by_staff(role):
    assert wf.save_part_b_student(role) is None


@pytest.mark.parametrize("role", [Role.STUDENT, Role.PARENT])
def test_part_b_student_specific_part_is_not_for_students_or_parents(role):
    with pytest.raises(ForbiddenAction):
        wf.save_part_b_student(role)


@pytest.mark.parametrize("step", [wf.start_part_b, wf.save_part_b_dossier])
def test_starting_or_saving_part_b_blocks_the_reset(step):
    started = step(STATUSES["part_b"], Role.MENTOR)
    assert started.part_b_started and started.state == State.PART_B
    for role in (Role.MENTOR, Role.STUDENT):
        with pytest.raises(TransitionError) as err:
            wf.reset_to_part_a(started, role)
        assert err.value.code == "part_b_started"


def test_reset_before_part_b_is_started():
    assert wf.reset_to_part_a(STATUSES["part_b"], Role.STUDENT).state == State.PART_A
    assert wf.reset_to_part_a(STATUSES["part_b"], Role.MENTOR).state == State.PART_A


def test_send_part_b_needs_a_complete_part_b_and_approves_it():
    with pytest.raises(TransitionError) as err:
        wf.send_part_b(STATUSES["part_b_started"], Role.MENTOR, missing={"guidance": ["lwoo"]})
    assert err.value.code == "part_b_incomplete" and err.value.details["missing"] == {"guidance": ["lwoo"]}
    sent = wf.send_part_b(STATUSES["part_b_started"], Role.MENTOR, missing={})
    assert sent.state == State.AGREEMENT and sent.part_b_approved and sent.label == "Akkoordverklaring invullen"


def test_back_to_part_a_repeats_the_whole_round():
    agreement = replace(STATUSES["agreement"], parent_decision=ParentDecision.CONSENT)
    back = wf.back_to_part_a(agreement, Role.STUDENT)
    assert back == DossierStatus(state=State.PART_A, mentor_id="m1")
    again = wf.submit_part_a(back, Role.STUDENT, missing={}, mentor_id="m1", class_mentor_ids={"m1"})
    assert again.state == State.PART_B and not again.part_b_approved
    assert wf.reset_to_part_a(again, Role.MENTOR).state == State.PART_A  # new round, not started yet
    started = wf.start_part_b(again, Role.MENTOR)
    assert wf.send_part_b(started, Role.MENTOR, missing={}).state == State.AGREEMENT


def test_archive_and_reactivate_keep_the_state():
    archived = wf.archive(STATUSES["agreement"], Role.COUNSELLOR)
    assert archived.archived and archived.state == State.AGREEMENT and archived.label == "Gearchiveerd"
    back = wf.reactivate(archived, Role.STUDENT)
    assert back == STATUSES["agreement"]
    done = wf.archive(STATUSES["completed"], Role.MENTOR)
    assert done.state == State.COMPLETED and wf.reactivate(done, Role.STUDENT) == STATUSES["completed"]


@pytest.mark.parametrize(
    "state, label",
    [(State.PART_A, "Deel A invullen"), (State.PART_B, "Deel B invullen"),
     (State.AGREEMENT, "Akkoordverklaring invullen"), (State.COMPLETED, "Afgerond")],
)
def test_state_labels(state, label):
    assert DossierStatus(state=state).label == label
    assert DossierStatus(state=state, archived=True).label == "Gearchiveerd"


@pytest.mark.parametrize(
    "key, role, expected",
    [
        ("part_a", S, {Action.SAVE_PART_A, Action.SUBMIT_PART_A}),
        ("part_a", M, {Action.ARCHIVE}),
        ("part_b", S, {Action.RESET_TO_PART_A}),
        ("part_b", M, {Action.START_PART_B, Action.SAVE_PART_B_DOSSIER, Action.RESET_TO_PART_A,
                       Action.SEND_PART_B, Action.ARCHIVE}),
        ("part_b_started", S, set()),
        ("agreement", S, {Action.SAVE_AGREEMENT, Action.BACK_TO_PART_A, Action.COMPLETE,
                          Action.REQUEST_PARENT_REVIEW}),
        ("agreement", M, {Action.SEND_REMINDER, Action.ARCHIVE}),
        ("agreement", MBO, set()),
        ("completed", MBO, {Action.MARK_HANDLED}),
        ("completed+archived", MBO, {Action.MARK_HANDLED}),
        ("agreement", P, {Action.RECORD_PARENT_CONSENT, Action.RECORD_PARENT_OBJECTION}),
        ("completed", S, set()),
        ("completed", C, {Action.ARCHIVE}),
        ("completed+archived", S, {Action.REACTIVATE}),
        ("part_b+archived", M, {Action.REACTIVATE}),
        ("part_b+archived", P, set()),
    ],
)
def test_available_actions(key, role, expected):
    assert wf.available_actions(STATUSES[key], role) == expected


# --------------------------------------------------------------------------- parents and age


@pytest.mark.parametrize(
    "born, day, age",
    [
        (date(2009, 3, 1), date(2027, 2, 28), 17),
        (date(2009, 3, 1), date(2027, 3, 1), 18),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(2008, 2, 29), date(2028, 2, 29), 20),
        (date(2010, 6, 1), date(2010, 6, 1), 0),
    ],
)
def test_age_on(born, day, age):
    assert wf.age_on(born, day) == age


def test_age_on_before_birth_is_an_error():
    with pytest.raises(ValueError):
        wf.age_on(date(2010, 6, 1), date(2010, 5, 31))


def _complete(rule, born, decision):
    status = replace(STATUSES["agreement"], parent_decision=decision)
    return wf.complete(status, Role.STUDENT, parent_rule=rule, date_of_birth=born, today=TODAY)


CONSENT, OBJECTION = ParentDecision.CONSENT, ParentDecision.OBJECTION


@pytest.mark.parametrize(
    "rule, born, decision, code",
    [
        (ParentRule.CONSENT, MINOR, None, "parent_consent_required"),
        (ParentRule.CONSENT, MINOR, CONSENT, None),
        (ParentRule.CONSENT, MINOR, OBJECTION, "parent_objection"),
        (ParentRule.CONSENT, ADULT, None, None),
        (ParentRule.CONSENT, ADULT, OBJECTION, None),  # an adult decides alone
        (ParentRule.CONSENT, EIGHTEEN_TODAY, None, None),  # 18 on the day of completion
        (ParentRule.INSPECTION, MINOR, None, None),
        (ParentRule.INSPECTION, MINOR, CONSENT, None),
        (ParentRule.INSPECTION, MINOR, OBJECTION, None),  # the parents' view is kept, it does not block
        (ParentRule.INSPECTION, ADULT, None, None),
        (ParentRule.NONE, MINOR, None, None),
        (ParentRule.NONE, ADULT, None, None),
    ],
)
def test_completion_under_the_three_parent_rules(rule, born, decision, code):
    if code is None:
        done = _complete(rule, born, decision)
        assert done.state == State.COMPLETED and done.label == "Afgerond"
    else:
        with pytest.raises(TransitionError) as err:
            _complete(rule, born, decision)
        assert err.value.code == code
        assert "ouder of verzorger" in err.value.reason


@pytest.mark.parametrize("rule", [ParentRule.CONSENT, ParentRule.INSPECTION])
def test_parents_record_consent_or_objection_for_a_minor(rule):
    kwargs = {"parent_rule": rule, "date_of_birth": MINOR, "today": TODAY}
    consented = wf.record_parent_consent(STATUSES["agreement"], Role.PARENT, **kwargs)
    assert consented.parent_decision == ParentDecision.CONSENT and consented.state == State.AGREEMENT
    objected = wf.record_parent_objection(consented, Role.PARENT, **kwargs)  # the last word counts
    assert objected.parent_decision == ParentDecision.OBJECTION


@pytest.mark.parametrize(
    "rule, born, code",
    [(ParentRule.NONE, MINOR, "parent_rule_none"), (ParentRule.CONSENT, ADULT, "student_adult"),
     (ParentRule.INSPECTION, ADULT, "student_adult")],
)
@pytest.mark.parametrize("record", [wf.record_parent_consent, wf.record_parent_objection])
def test_parents_have_no_say_without_the_setting_or_for_an_adult(record, rule, born, code):
    with pytest.raises(TransitionError) as err:
        record(STATUSES["agreement"], Role.PARENT, parent_rule=rule, date_of_birth=born, today=TODAY)
    assert err.value.code == code


def test_consent_then_completion_end_to_end():
    status = wf.create_dossier(Role.STUDENT)
    status = wf.save_part_a(status, Role.STUDENT)
    status = wf.submit_part_a(status, Role.STUDENT, missing={}, mentor_id="m1", class_mentor_ids={"m1"})
    status = wf.start_part_b(status, Role.MENTOR)
    status = wf.send_part_b(status, Role.MENTOR, missing={})
    status = wf.save_agreement(status, Role.STUDENT)
    kwargs = {"parent_rule": ParentRule.CONSENT, "date_of_birth": MINOR, "today": TODAY}
    with pytest.raises(TransitionError):
        wf.complete(status, Role.STUDENT, **kwargs)
    status = wf.record_parent_consent(status, Role.PARENT, **kwargs)
    status = wf.complete(status, Role.STUDENT, **kwargs)
    assert status.state == State.COMPLETED
    with pytest.raises(TransitionError) as err:
        wf.back_to_part_a(status, Role.STUDENT)
    assert err.value.code == "dossier_completed"


# --------------------------------------------------------------------------- additions


@pytest.mark.parametrize(
    "rule, born, informed, decision, code",
    [
        (ParentRule.INSPECTION, MINOR, False, None, "parent_not_informed"),
        (ParentRule.INSPECTION, MINOR, True, None, None),
        (ParentRule.INSPECTION, MINOR, False, OBJECTION, None),  # they reacted, so they were informed
        (ParentRule.INSPECTION, ADULT, False, None, None),
        (ParentRule.NONE, MINOR, False, None, None),
        (ParentRule.CONSENT, MINOR, False, None, "parent_consent_required"),
    ],
)
def test_inspection_needs_the_parents_informed(rule, born, informed, decision, code):
    status = replace(STATUSES["agreement"], parent_decision=decision)
    call = lambda: wf.complete(status, Role.STUDENT, parent_rule=rule, date_of_birth=born, today=TODAY,  # noqa: E731
                               parent_informed=informed)
    if code is None:
        assert call().state == State.COMPLETED
    else:
        with pytest.raises(TransitionError) as err:
            call()
        assert err.value.code == code


@pytest.mark.parametrize(
    "rule, born, code",
    [(ParentRule.NONE, MINOR, "parent_rule_none"), (ParentRule.CONSENT, ADULT, "student_adult"),
     (ParentRule.INSPECTION, EIGHTEEN_TODAY, "student_adult")],
)
def test_parent_review_only_where_parents_have_a_say(rule, born, code):
    with pytest.raises(TransitionError) as err:
        wf.request_parent_review(STATUSES["agreement"], Role.STUDENT, parent_rule=rule, date_of_birth=born, today=TODAY)
    assert err.value.code == code
    assert wf.parents_have_a_say(rule, born, TODAY) is False
    assert wf.parents_have_a_say(ParentRule.INSPECTION, MINOR, TODAY) is True


def test_mark_handled_once_and_only_when_completed():
    done = wf.mark_handled(STATUSES["completed"], Role.MBO_STAFF)
    assert done.handled and done.state == State.COMPLETED
    with pytest.raises(TransitionError) as err:
        wf.mark_handled(done, Role.MBO_STAFF)
    assert err.value.code == "already_handled"
    with pytest.raises(ForbiddenAction, match=r"^Alleen een medewerker van de ontvangende school mag"):
        wf.mark_handled(STATUSES["completed"], Role.COUNSELLOR)
