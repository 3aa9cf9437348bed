"""The whole journey of the manual over HTTP (chapters 2-4), with every signal mail at the SMTP sink
and the dossier.completed event on the broker."""
from __future__ import annotations

import uuid

from shared.events.dossier_events import DossierCompleted
from tests.integration.dossier.world import ASSESSMENT, GUIDANCE, MINOR, World, complete_part_a, token_from


async def test_the_journey_of_the_manual(world: World):
    school = await world.school(parent_rule="consent")
    mbo = await world.mbo()
    roos = await world.student(school, born=MINOR)
    student = world.as_student(roos)
    mentor_1, mentor_2 = school.classes[0].mentors
    mentor = world.as_mentor(mentor_1)
    completed = await world.probe("dossier.completed")

    # 2. "Nieuw dossier": one per application; the home overview shows it with status and progress
    d = await world.create(roos, mbo)
    assert d["state"] == "part_a" and d["state_label"] == "Deel A invullen"
    assert d["part_a"]["personal_details"]["roepnaam"] == "Roos"  # from the roster
    assert d["choice"]["programme_name"] == "Juridisch secretaresse" and d["choice"]["location"]["city"] == "Utrecht"
    assert d["part_b_student"] is None and d["part_b_visible"] is False
    _, home = await world.call("GET", "/v1/dossiers", student, expect=200)
    assert [x["id"] for x in home["dossiers"]] == [d["id"]]
    assert home["dossiers"][0]["state_label"] == "Deel A invullen" and home["dossiers"][0]["step_progress"] < 100

    # half-filled saves are fine; Dutch errors per field for what is wrong
    dossier_id = d["id"]
    status, problem = await world.call("PUT", f"/v1/dossiers/{dossier_id}/part-a/personal_details", student,
                                       json={"answers": {"roepnaam": "Roos", "phone": "bel me"}},
                                       version=d["versions"]["personal_details"])
    assert status == 422 and problem["errors"][0]["field"] == "answers.phone"
    assert problem["errors"][0]["message"].startswith("Vul een geldig telefoonnummer in")
    _, saved = await world.call("PUT", f"/v1/dossiers/{dossier_id}/part-a/motivation", student,
                                json={"answers": {"motivation": "Ik wil juridisch werken."}}, version=0, expect=200)
    assert saved["progress"] == 50 and saved["version"] == 1

    # submitting needs every required section at 100%
    problem = await world.act(dossier_id, "submit", student, json={"mentor_id": str(mentor_1.staff_id)}, expect=409)
    assert problem["code"] == "part-a-incomplete" and "niet helemaal ingevuld" in problem["detail"]
    assert "personal_details" in problem["missing"]
    d = await world.fill_part_a(roos, await world.get(dossier_id, student), mbo)
    assert all(d["progress"][s] == 100 for s in complete_part_a(mbo))

    # ... and a mentor linked to the class
    _, mentors = await world.call("GET", "/v1/me/mentors", student, expect=200)
    assert {m["staff_id"] for m in mentors["mentors"]} == {str(mentor_1.staff_id), str(mentor_2.staff_id)}
    problem = await world.act(dossier_id, "submit", student, json={"mentor_id": str(uuid.uuid4())}, expect=409)
    assert problem["code"] == "mentor-not-linked"
    d = await world.act(dossier_id, "submit", student, json={"mentor_id": str(mentor_1.staff_id)})
    assert d["state"] == "part_b" and d["mentor"]["name"] == mentor_1.name

    # the chosen mentor gets a signal mail; the dossier is in their worklist "te behandelen"
    [mail] = await world.mails_to(mentor_1.email)
    assert mail["Subject"] == "Deel A van Roos de Winter staat voor u klaar"
    assert f"https://portal.example.nl/dossiers/{dossier_id}" in mail.get_body().get_content()
    _, work = await world.call("GET", "/v1/overviews/worklist", mentor, expect=200)
    assert [(x["id"], x["action_label"]) for x in work["dossiers"]] == [(dossier_id, "Start deel B")]

    # 3.1 the mentor puts it back to part A (the student gets a signal mail), the student submits again
    d = await world.act(dossier_id, "reset-to-part-a", mentor)
    assert d["state"] == "part_a"
    [mail] = await world.mails_to(roos.email)
    assert mail["Subject"] == "Je doorstroomdossier staat weer open in deel A"
    assert "Je mentor heeft je doorstroomdossier teruggezet" in mail.get_body().get_content()
    await world.act(dossier_id, "submit", student, json={"mentor_id": str(mentor_1.staff_id)})
    await world.mails_to(mentor_1.email, 2)

    # "start deel B": from then on no reset to part A
    d = await world.act(dossier_id, "part-b/start", mentor)
    assert d["part_b_started"] is True
    problem = await world.act(dossier_id, "reset-to-part-a", student, expect=409)
    assert problem["code"] == "part-b-started"

    # 3.2 part B must be complete before it is sent
    problem = await world.act(dossier_id, "send-part-b", mentor, expect=409)
    assert problem["code"] == "part-b-incomplete"
    await world.save_b(dossier_id, "guidance", GUIDANCE | {"support_received_dutch": True,
                                                           "support_received_explanation": "Bijles begrijpend lezen"},
                       mentor)
    status, problem = await world.call("PUT", f"/v1/dossiers/{dossier_id}/part-b/assessment_advice", mentor,
                                       json={"answers": {**ASSESSMENT, "contactemail": "geen-adres"}}, version=0)
    assert status == 422 and problem["errors"] == [
        {"field": "answers.contactemail", "message": "Vul een geldig e-mailadres in, bijvoorbeeld naam@school.nl."}]
    await world.save_b(dossier_id, "assessment_advice", ASSESSMENT, mentor)
    student_view = await world.get(dossier_id, student)
    assert student_view["part_b_visible"] is False and student_view["part_b_dossier"] is None
    d = await world.act(dossier_id, "send-part-b", mentor)
    assert d["state"] == "agreement" and d["state_label"] == "Akkoordverklaring invullen"
    [_, mail] = await world.mails_to(roos.email, 2)
    assert mail["Subject"] == "Deel B is klaar: vul de akkoordverklaring in"

    # 4. the student reads A and B, adds a remark on part B
    d = await world.get(dossier_id, student)
    assert d["part_b_visible"] is True and d["part_b_student"]["guidance"]["support_received_dutch"] is True
    assert d["part_b_dossier"]["assessment_advice"]["opp"] is True and d["warm_handover"] is True
    assert "complete" in d["available_actions"] and "back_to_part_a" in d["available_actions"]
    _, d = await world.call("PUT", f"/v1/dossiers/{dossier_id}/agreement", student,
                            json={"remark": "Ik ben het eens met deel B."}, version=d["version"], expect=200)
    assert d["agreement"]["remark"] == "Ik ben het eens met deel B."

    # under 18 at a school with the consent rule: a parent consents through a signed link
    assert d["agreement"]["parent"]["consent_needed"] is True and d["agreement"]["parent"]["has_say"] is True
    problem = await world.act(dossier_id, "complete", student, expect=409)
    assert problem["code"] == "parent-consent-required"
    parent_email = f"ouder-{roos.student_id.hex[:8]}@example.nl"
    d = await world.act(dossier_id, "parent-link", student, json={"parent_email": parent_email})
    assert "token" not in str(d), "the student never sees the parent's token"
    [mail] = await world.mails_to(parent_email)
    assert mail["Subject"] == "Het doorstroomdossier van Roos de Winter"
    assert "toestemming" in mail.get_body().get_content()
    token = token_from(mail)
    r = await world.client.get("/v1/parent/dossier", headers={"X-Parent-Token": token})
    assert r.status == 200
    seen = await r.json()
    assert seen["part_b_dossier"]["assessment_advice"]["argumentatie"] == ASSESSMENT["argumentatie"]
    assert seen["agreement"]["parent"]["email"] is None and seen["available_actions"] == [
        "record_parent_consent", "record_parent_objection"]
    r = await world.client.post("/v1/parent/decision", headers={"X-Parent-Token": token, "If-Match": seen["etag"]},
                                json={"decision": "consent", "remark": "Akkoord, succes Roos!"})
    assert r.status == 200, await r.text()
    [_, _, mail] = await world.mails_to(roos.email, 3)
    assert mail["Subject"] == "Je ouder of verzorger heeft op je doorstroomdossier gereageerd"

    # "afronden": final, visible to the MBO it is addressed to; dossier.completed for MBO systems
    d = await world.act(dossier_id, "complete", student)
    assert d["state"] == "completed" and d["state_label"] == "Afgerond" and d["agreement"]["completed_at"]
    assert d["agreement"]["parent"]["decision"] == "consent"
    [envelope] = await completed.wait_for(1)
    event = DossierCompleted.model_validate(envelope["data"])
    assert envelope["subject"] == dossier_id and envelope["dataversion"] == 1
    assert event.institution_id == mbo.institution_id and event.programme.crebo == mbo.crebo
    assert event.student.roepnaam == "Roos" and event.student.date_of_birth == roos.date_of_birth
    assert event.school.name == school.name and event.warm_handover is True and event.contact_wanted is False
    assert "bsn" not in str(envelope).lower() and roos.email not in str(envelope)

    mbo_staff = world.as_mbo(mbo)
    _, inbox = await world.call("GET", "/v1/mbo/dossiers", mbo_staff, expect=200)
    [item] = inbox["dossiers"]
    assert item["id"] == dossier_id and item["warm_handover"] is True and item["handled"] is False
    d = await world.get(dossier_id, mbo_staff)
    assert d["part_a"]["motivation"]["motivation"] == "Ik wil juridisch werken."
    assert d["agreement"]["parent"]["email"] is None
    _, d = await world.call("POST", f"/v1/mbo/dossiers/{dossier_id}/handled", mbo_staff, version=d["version"],
                            expect=200)
    assert d["handled_at"] and d["handled_by"] == "Intake MBO"
    _, home = await world.call("GET", "/v1/dossiers", student, expect=200)
    assert home["dossiers"][0]["handled_at"] is not None, "the student sees it was handled"

    # a completed dossier is final
    problem = await world.act(dossier_id, "back-to-part-a", student, expect=409)
    assert problem["code"] == "dossier-completed"

    # the history: made, changed, by whom, every state change
    _, history = await world.call("GET", f"/v1/dossiers/{dossier_id}/history", mentor, expect=200)
    actions = [e["action"] for e in history["entries"]]
    for expected in ("created", "part_a_saved", "part_a_submitted", "reset_to_part_a", "part_b_started",
                     "part_b_sent", "agreement_saved", "parent_review_requested", "parent_consented", "completed",
                     "handled"):
        assert expected in actions
    reset = next(e for e in history["entries"] if e["action"] == "reset_to_part_a")
    assert reset["by"] == mentor_1.name and reset["by_role"] == "mentor" and reset["label"] == "Teruggezet naar deel A"
    assert (reset["from_state"], reset["to_state"]) == ("part_b", "part_a")


async def test_back_to_part_a_repeats_the_whole_round(world: World):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    student, mentor = world.as_student(s), world.as_mentor(s.klass.mentors[0])
    d = await world.to_agreement(s, mbo)
    await world.call("PUT", f"/v1/dossiers/{d['id']}/agreement", student, json={"remark": "Niet eens"},
                     version=d["version"], expect=200)
    d = await world.act(d["id"], "back-to-part-a", student)
    assert d["state"] == "part_a" and d["part_b_visible"] is False and d["agreement"]["remark"] is None
    # part A can be changed again, and the round runs again: submit, part B, send
    await world.call("PUT", f"/v1/dossiers/{d['id']}/part-a/motivation", student,
                     json={"answers": {"motivation": "Anders", "expectations": "Meer"}},
                     version=d["versions"]["motivation"], expect=200)
    d = await world.act(d["id"], "submit", student, json={"mentor_id": str(s.klass.mentors[1].staff_id)})
    assert d["state"] == "part_b" and d["part_b_started"] is False
    await world.act(d["id"], "reset-to-part-a", student)  # not started in this round: allowed again
    d = await world.act(d["id"], "submit", student, json={"mentor_id": str(s.klass.mentors[1].staff_id)})
    d = await world.act(d["id"], "send-part-b", world.as_mentor(s.klass.mentors[1]))  # part B answers kept
    assert d["state"] == "agreement"
    assert (await world.get(d["id"], student))["part_a"]["motivation"]["motivation"] == "Anders"
    await world.mails_to(s.klass.mentors[1].email, 2)
    history = (await world.call("GET", f"/v1/dossiers/{d['id']}/history", mentor, expect=200))[1]["entries"]
    assert [e["action"] for e in history].count("part_a_submitted") == 3


async def test_student_specific_part_b_is_kept_and_reused_and_can_be_filled_early(world: World):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    mentor = world.as_mentor(s.klass.mentors[0])
    # manual 3.4: before the student has any dossier
    _, early = await world.call("GET", f"/v1/students/{s.student_id}/part-b", mentor, expect=200)
    assert early["versions"] == {"guidance": 0} and early["progress"]["guidance"] == 0
    _, saved = await world.call("PUT", f"/v1/students/{s.student_id}/part-b/guidance", mentor,
                                json={"answers": GUIDANCE | {"lwoo": True}}, version=0, expect=200)
    assert saved["progress"] == 100 and saved["version"] == 1
    # the dossier-specific part only after part A was submitted
    d = await world.create(s, mbo)
    status, problem = await world.call("PUT", f"/v1/dossiers/{d['id']}/part-b/assessment_advice", mentor,
                                       json={"answers": ASSESSMENT}, version=0)
    assert status == 409 and "pas worden ingevuld" in problem["detail"]
    d1 = await world.to_part_b(s, mbo)
    view = await world.get(d1["id"], mentor)
    assert view["part_b_student"]["guidance"]["lwoo"] is True, "the early answers are there"
    await world.save_b(d1["id"], "assessment_advice", ASSESSMENT, mentor)
    d1 = await world.act(d1["id"], "send-part-b", mentor)
    # a second dossier reuses the student-specific part; only the dossier-specific part is new
    d2 = await world.to_part_b(s, mbo)
    view = await world.get(d2["id"], mentor)
    assert view["part_b_student"]["guidance"]["lwoo"] is True and view["part_b_dossier"] == {}
    assert view["progress"]["guidance"] == 100 and view["progress"]["assessment_advice"] < 100
    # a later change of the student-specific part does not change the part B already sent
    _, saved = await world.call("PUT", f"/v1/students/{s.student_id}/part-b/guidance", mentor,
                                json={"answers": GUIDANCE}, version=1, expect=200)
    assert (await world.get(d1["id"], mentor))["part_b_student"]["guidance"]["lwoo"] is True
    assert (await world.get(d2["id"], mentor))["part_b_student"]["guidance"]["lwoo"] is False
