"""Stage 1 rules a practitioner would notice: roles, four eyes, consent, the case index, bad input."""

from app.services.cases import case_index
from tests.support.flow import AGREE, RECORD, Flow, prefilled
from tests.support.stage1 import TRIAGE

OPEN_CHILD_CSV = """external_ref,first_name,last_name,date_of_birth,social_care_status,allocated_worker,allocated_team
CS9,Jamie,Doe,2016-04-01,open,Sam Worker,daat
"""


def test_child_open_to_social_care_goes_to_the_allocated_worker(client):
    case_index.import_csv(OPEN_CHILD_CSV)
    flow = Flow(client)
    flow.do("masho", "record_contact", {**RECORD})
    matches = flow.task("masho", "history_check")["data"]["index_matches"]
    assert [m["name"] for m in matches] == ["Jamie Doe"]
    flow.do(
        "masho",
        "history_check",
        {"confirmed_matches": [matches[0]["match_id"]], "case_system_checks": [], "synopsis": "Open to DAAT."},
    )
    assert flow.instance()["data"]["contact_route"] == "allocated_worker"
    assert flow.ready("fr") == []  # another team's worker does not see it
    flow.do("daat", "allocated_worker_notified", {"acknowledged": True})
    flow.do(
        "bs",
        "send_acknowledgement",
        {"acknowledged_at": "2026-11-24T11:00:00+00:00", "acknowledgement_method": "phone"},
    )
    case = flow.instance()
    assert (case["status"], case["outcome"]) == ("completed", "passed_to_allocated_worker")


def test_a_referral_marks_the_child_open_so_the_next_contact_goes_to_that_team(client):
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17", "meets_disability_criteria": True})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    assert flow.instance()["data"]["receiving_team"] == "disabled_children"
    second = Flow(client)
    second.do("masho", "record_contact", RECORD)
    match = second.task("masho", "history_check")["data"]["index_matches"][0]
    assert (match["status"], match["team"]) == ("open", "disabled_children")
    second.do(
        "masho",
        "history_check",
        {"confirmed_matches": [match["match_id"]], "case_system_checks": [], "synopsis": "Referred yesterday."},
    )
    assert second.instance()["data"]["contact_route"] == "allocated_worker"
    second.do("dcs", "allocated_worker_notified", {"acknowledged": True})


def test_urgent_downgrade_needs_a_second_manager(client):
    flow = Flow(client)
    flow.intake({"red_criteria": ["other"], "red_criteria_other": "Injury"})
    flow.do("mgr", "confirm_red", {"red_confirmed": True})
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("mgr_dm", "triage_social_care", {**TRIAGE, "threshold": "not_met"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "NONE"})
    assert flow.instance()["rag"] == "RED"  # stays RED until a second manager agrees
    task = flow.task("mgr_dm", "agree_urgent_downgrade")
    response = flow.api.post(
        "mgr_dm",
        f"/api/v1/tasks/{task['id']}/complete",
        {"data": {"urgent_downgrade_agreed": True, "urgent_downgrade_reason": "Seen by GP"}},
    )
    assert response.status_code == 403
    assert "different manager" in response.json["message"]
    flow.do(
        "mgr2", "agree_urgent_downgrade", {"urgent_downgrade_agreed": True, "urgent_downgrade_reason": "Seen by GP"}
    )
    case = flow.instance()
    assert case["rag"] == "NONE" and case["data"]["on_urgent_downgrade_audit"] is True
    denied = [e for e in flow.history() if e["type"] == "access_denied"]
    assert denied and denied[0]["actor"] == "mgr_dm"


def test_refused_consent_is_reviewed_and_can_go_back_to_the_referrer(client):
    flow = Flow(client)
    flow.do("masho", "record_contact", {**RECORD, "consent": "refused", "consent_given_by": None})
    flow.do("masho", "history_check", {"confirmed_matches": [], "case_system_checks": [], "synopsis": "None."})
    flow.do("mgr", "consent_review", {"consent_action": "return_to_referrer"})
    flow.do("masho", "return_to_referrer", {"referrer_response": "Parent still refuses", "consent": "refused"})
    flow.do(
        "mgr",
        "consent_review",
        {"consent_action": "override", "consent_override_rationale": "Risk of significant harm"},
    )
    assert flow.task("mgr", "allocate")
    assert flow.instance()["data"]["consent_override_rationale"] == "Risk of significant harm"


def test_consent_obtained_on_return_to_referrer_ends_the_review(client):
    flow = Flow(client)
    flow.do(
        "masho",
        "record_contact",
        {
            **RECORD,
            "consent": "not_sought",
            "consent_given_by": None,
            "consent_not_sought_reason": "referrer_did_not_seek",
        },
    )
    flow.do("masho", "history_check", {"confirmed_matches": [], "case_system_checks": [], "synopsis": "None."})
    flow.do("mgr", "consent_review", {"consent_action": "return_to_referrer"})
    flow.do(
        "masho",
        "return_to_referrer",
        {"referrer_response": "Parent agrees", "consent": "obtained", "consent_given_by": "Mother"},
    )
    assert flow.task("mgr", "allocate")


def test_wrong_role_is_403_and_recorded(client):
    flow = Flow(client)
    task = flow.task("masho", "record_contact")
    response = flow.api.post("dm", f"/api/v1/tasks/{task['id']}/complete", {"data": {}})
    assert response.status_code == 403 and response.json["error"] == "forbidden"
    assert flow.ready("dm") == []
    assert any(e["type"] == "access_denied" and e["actor"] == "dm" for e in flow.history())


def test_partner_cannot_see_a_mash_case(client):
    flow = Flow(client)
    response = flow.api.get("police", f"/api/v1/instances/{flow.instance_id}")
    assert response.status_code == 404


def test_bad_input_is_422_per_field_and_changes_nothing(client):
    flow = Flow(client)
    task = flow.task("masho", "record_contact")
    before = flow.instance()
    history_before = len([e for e in flow.history() if e["type"] != "viewed"])
    response = flow.api.post(
        "masho",
        f"/api/v1/tasks/{task['id']}/complete",
        {"data": {**prefilled(task, RECORD), "consent": "not_sought", "safety_scale": 11, "made_up_field": 1}},
    )
    assert response.status_code == 422
    errors = response.json["details"]["errors"]
    assert {"consent_not_sought_reason", "safety_scale", "made_up_field"} <= set(errors)
    after = flow.instance()
    assert after["ready_tasks"] == before["ready_tasks"] and after["data"] == before["data"]
    history_after = len([e for e in flow.history() if e["type"] != "viewed"])
    assert history_after == history_before  # the refused submission wrote nothing (reads are `viewed` events)


def test_double_completion_one_wins_the_other_gets_409(client):
    flow = Flow(client)
    task = flow.task("masho", "record_contact")
    body = {"data": prefilled(task, RECORD)}
    first = flow.api.post("masho", f"/api/v1/tasks/{task['id']}/complete", body)
    second = flow.api.post("masho", f"/api/v1/tasks/{task['id']}/complete", body)
    assert first.status_code == 200
    assert second.status_code == 409 and second.json["error"] == "conflict"


def test_several_children_get_linked_instances_of_their_own(client):
    flow = Flow(
        client,
        child=None,
        children=[
            {"first_name": "Ava", "last_name": "Doe", "date_of_birth": "2014-01-01"},
            {"first_name": "Ben", "last_name": "Doe", "date_of_birth": "2018-02-02", "red_criteria": ["other"]},
        ],
    )
    ids = flow.contact["instance_ids"]
    assert len(ids) == 2 and flow.contact["instance_id"] == ids[0]
    cases = [flow.api.get("auditor", f"/api/v1/instances/{i}").json for i in ids]
    assert {c["contact_id"] for c in cases} == {flow.contact["contact_id"]}
    assert [c["data"]["child"]["first_name"] for c in cases] == ["Ava", "Ben"]


def test_history_records_who_did_what_and_the_decisions(client):
    flow = Flow(client)
    flow.intake()
    events = flow.history()
    types = [e["type"] for e in events]
    assert types[0] == "instance_started"
    completed = [e for e in events if e["type"] == "task_completed"]
    assert [(e["bpmn_id"], e["actor"]) for e in completed] == [("record_contact", "masho"), ("history_check", "masho")]
    assert "consent" in completed[0]["detail"]["fields"]
    routing = next(e for e in events if e["type"] == "decision_evaluated")
    assert routing["detail"]["inputs"]["request_type"] == "service_request"
    assert routing["detail"]["matched_rules"] == ["contact_routing_r6"]
    assert any(e["type"] == "route_taken" for e in events)


def test_receiving_team_sees_the_summary_not_the_whole_record(client):
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    task = flow.task("fr", "handover")
    assert "appendix_a_q1" not in task["data"] and "synopsis" not in task["data"]
    assert task["data"]["child"]["last_name"] == "Doe"


def test_consent_review_for_a_red_case_runs_alongside_and_never_delays_it(client):
    flow = Flow(client)
    flow.do(
        "masho",
        "record_contact",
        {
            **RECORD,
            "consent": "refused",
            "consent_given_by": None,
            "red_criteria": ["other"],
            "red_criteria_other": "Injury",
        },
    )
    flow.do("masho", "history_check", {"confirmed_matches": [], "case_system_checks": [], "synopsis": "None."})
    waiting = {bpmn_id for bpmn_id, _ in flow.waiting()}
    assert {"consent_review_red", "confirm_red"} <= waiting
    flow.do("mgr", "confirm_red", {"red_confirmed": True})
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    assert flow.task("dm", "triage_social_care")  # protective work goes on before consent is reviewed
    flow.do(
        "mgr",
        "consent_review_red",
        {"consent_action": "override", "consent_override_rationale": "Risk of significant harm"},
    )
    assert flow.instance()["rag"] == "RED"


def test_an_outcome_updates_the_confirmed_index_record_rather_than_adding_one(client):
    case_index.import_csv(
        "external_ref,first_name,last_name,date_of_birth,social_care_status,closed_on,closing_team\n"
        "CS7,Jamie,Doe,2016-04-01,closed,2026-01-05,first_response\n"
    )
    flow = Flow(client)
    flow.do("masho", "record_contact", RECORD)
    match = flow.task("masho", "history_check")["data"]["index_matches"][0]
    flow.do(
        "masho",
        "history_check",
        {"confirmed_matches": [match["match_id"]], "case_system_checks": [], "synopsis": "Closed in January."},
    )
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    assert case_index.count() == 1
    (row,) = case_index.search({"first_name": "Jamie", "last_name": "Doe", "date_of_birth": "2016-04-01"})
    assert (row["status"], row["team"]) == ("open", "first_response")


def test_clearing_a_required_answer_is_an_error_not_a_silent_keep(client):
    flow = Flow(client)
    task = flow.task("masho", "record_contact")
    response = flow.api.post(
        "masho", f"/api/v1/tasks/{task['id']}/complete", {"data": {**prefilled(task, RECORD), "summary": None}}
    )
    assert response.status_code == 422 and "summary" in response.json["details"]["errors"]
    without = {k: v for k, v in prefilled(task, RECORD).items() if k != "summary"}
    response = flow.api.post("masho", f"/api/v1/tasks/{task['id']}/complete", {"data": without})
    assert response.status_code == 422 and "summary" in response.json["details"]["errors"]
