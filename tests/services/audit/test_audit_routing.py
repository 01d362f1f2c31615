"""Protocol §16 (spec §8, §11.11): the monthly audit goes to named managers. Whole cases are driven
through the API in November with the right person at each step; on 1 December the draw gives the team
managers their dip samples (the MASH manager for a MASH worker's case, the Early Help manager for an
Early Help decision maker's), the MASH service manager the 20 % NFA sample, the First Response service
manager the referral whose assessment ended in NFA (recorded by the receiving team on its handover
task), and, once the month's audits are done, the strategic manager one summary task."""

from datetime import UTC, datetime

import pytest

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import TaskRecord
from app.services.audit import audit_sampling
from app.services.core import timers
from app.services.people import users
from tests.support import PASSWORD
from tests.support.audit_sampling import FORM
from tests.support.flow import AGREE, Flow
from tests.support.stage1 import TRIAGE, acknowledge, finish_letters

pytestmark = pytest.mark.restart_between_steps  # every step as if on another worker (MASH_FRESH_BUNDLES)

UTC = UTC
MANAGERS = {"sm": "service_manager", "frsm": "first_response_service_manager", "stm": "strategic_manager"}


def _people():
    for username, role in MANAGERS.items():
        if users.get_by_username(username) is None:
            users.create_user(username, PASSWORD, [role])


def _referral_ending_in_nfa(client):
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    # the receiving team records the assessment outcome on its handover task (§16)
    flow.do("fr", "handover", {"handover_accepted": True, "assessment_outcome": "other"}, status=422)  # needs detail
    flow.do(
        "fr",
        "handover",
        {
            "handover_accepted": True,
            "assessment_outcome": "nfa",
            "assessment_notes": "Single assessment: no further action.",
        },
    )
    acknowledge(flow)
    finish_letters(flow)
    return flow


def _nfa_by(client, allocate_to, decision_maker, triage, manager, sign_off):
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": allocate_to})
    flow.do(decision_maker, triage, {**TRIAGE, "threshold": "not_met"})
    flow.do(manager, sign_off, {**AGREE, "agreed_rag": "NONE"})
    acknowledge(flow)
    finish_letters(flow)
    return flow


def _audit_tasks(flow, username):
    return [t for t in flow.api.get(username, "/api/v1/tasks?include=form").json if t["bpmn_id"] == "audit_case"]


def test_s16_each_sample_goes_to_its_named_manager_and_the_findings_to_the_strategic_manager(client):
    _people()
    referral = _referral_ending_in_nfa(client)
    assert referral.instance()["data"]["assessment_outcome"] == "nfa"
    social_care_nfa = _nfa_by(client, "decision_maker", "dm2", "triage_social_care", "mgr", "sign_off_social_care")
    early_help_nfa = _nfa_by(client, "eh_decision_maker", "ehdm", "triage_early_help", "ehmgr", "sign_off_early_help")
    cases = {
        "referral": referral.instance_id,
        "sc_nfa": social_care_nfa.instance_id,
        "eh_nfa": early_help_nfa.instance_id,
    }
    assert {early_help_nfa.instance()["outcome"], social_care_nfa.instance()["outcome"]} == {"nfa"}

    audit_sampling.start()
    assert timers.fire_due(datetime(2026, 12, 1, 0, 1, tzinfo=UTC)) == 1
    CLOCK.freeze(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
    api = referral.api
    api.tokens.clear()

    def case_of(task):  # the sampled case the task is about (its form's read-only `sample`)
        return db.session.get(TaskRecord, task["id"]).form_data["sample"]["case_id"]

    by_manager = {u: _audit_tasks(referral, u) for u in ("mgr", "ehmgr", "sm", "frsm", "stm", "auditor")}
    related = {u: sorted(case_of(t) for t in tasks) for u, tasks in by_manager.items()}
    # team managers' dip samples: one case per worker, to the manager of the worker's team
    assert related["mgr"] == sorted(
        [cases["referral"], cases["sc_nfa"]]
    )  # dm's and dm2's cases (masho's is one of them)
    assert related["ehmgr"] == [cases["eh_nfa"]]  # the Early Help decision maker's case
    # 20 % of the two NFA contacts (one) to the MASH service manager
    assert len(related["sm"]) == 1 and related["sm"][0] in (cases["sc_nfa"], cases["eh_nfa"])
    # every referral whose assessment ended in NFA to the First Response service manager
    assert related["frsm"] == [cases["referral"]]
    assert related["stm"] == [] and related["auditor"] == []  # nothing to the auditor any more
    assert {t["role"] for u in ("mgr", "ehmgr", "sm", "frsm") for t in by_manager[u]} == {
        "mash_manager",
        "eh_manager",
        "service_manager",
        "first_response_service_manager",
    }

    # the service manager was not involved in the sampled case but may read it now; not an unsampled one
    assert api.get("sm", f"/api/v1/instances/{related['sm'][0]}").status_code == 200
    assert api.get("sm", f"/api/v1/instances/{cases['referral']}").status_code == 404
    assert api.get("frsm", f"/api/v1/instances/{cases['referral']}").status_code == 200

    # no summary until every named manager has audited
    judgements = {"mgr": "good", "ehmgr": "requires_improvement", "sm": "good", "frsm": "inadequate"}
    for username, tasks in by_manager.items():
        for task in tasks:
            response = api.post(
                username,
                f"/api/v1/tasks/{task['id']}/complete",
                {"data": {**FORM, "overall_judgement": judgements[username]}},
            )
            assert response.status_code == 200, response.json
            if username != "frsm":
                assert [t for t in api.get("stm", "/api/v1/tasks").json if t["bpmn_id"] == "month_feedback"] == []

    (summary,) = [t for t in api.get("stm", "/api/v1/tasks?include=form").json if t["bpmn_id"] == "month_feedback"]
    assert summary["role"] == "strategic_manager" and summary["due_at"]
    month = summary["data"]["month_summary"]
    assert month["month"] == "2026-11" and month["audits"] == 5
    assert sorted((r["audited_by"], r["case_id"]) for r in month["results"]) == sorted(
        [
            ("mash_manager", cases["referral"]),
            ("mash_manager", cases["sc_nfa"]),
            ("eh_manager", cases["eh_nfa"]),
            ("service_manager", related["sm"][0]),
            ("first_response_service_manager", cases["referral"]),
        ]
    )
    assert {r["audited_by"]: r["overall_judgement"] for r in month["results"]}[
        "first_response_service_manager"
    ] == "inadequate"
    assert month["judgements"] == {"good": 3, "requires_improvement": 1, "inadequate": 1}
    assert (
        api.post("stm", f"/api/v1/tasks/{summary['id']}/complete", {"data": {"shared_with_service": True}}).status_code
        == 422
    )  # the learning is required
    response = api.post(
        "stm",
        f"/api/v1/tasks/{summary['id']}/complete",
        {
            "data": {
                "practice_issues": "Consent recorded late on one case.",
                "learning_to_share": "Briefing at the team meeting.",
                "shared_with_service": True,
            }
        },
    )
    assert response.status_code == 200, response.json
    assert [t for t in api.get("stm", "/api/v1/tasks").json if t["bpmn_id"] == "month_feedback"] == []


def test_s16_the_receiving_team_can_record_the_assessment_outcome_later_and_it_is_still_audited(client):
    """§16 / spec §11.11 "on its handover task or later": the team accepts the handover with the outcome
    not known yet; a task stays with that team (not another) until it records the outcome; the contact's
    letters go on meanwhile; the referral that ended in NFA goes to the First Response service manager."""
    _people()
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    flow.do("fr", "handover", {"handover_accepted": True, "assessment_outcome": "pending"})
    later = flow.task("fr", "record_assessment_outcome")
    assert later["team"] == "first_response" and later["due_at"]
    assert [t for t in flow.ready("daat") if t["bpmn_id"] == "record_assessment_outcome"] == []
    acknowledge(flow)
    finish_letters(flow)  # the referrer and family are told without waiting for the assessment
    assert flow.instance()["status"] == "running"
    flow.do("fr", "record_assessment_outcome", {"assessment_outcome": "pending"}, status=422)  # not an outcome
    flow.do(
        "fr",
        "record_assessment_outcome",
        {"assessment_outcome": "nfa", "assessment_notes": "Assessment complete: no further action."},
    )
    case = flow.instance()
    assert case["data"]["assessment_outcome"] == "nfa" and case["status"] == "completed"
    assert case["outcome"] == "s17_assessment"  # the MASH outcome is unchanged
    drawn = audit_sampling.draw("2026-11-01", "2026-11-30")
    (sample,) = [s for s in drawn["samples"] if "referral_nfa" in s["reasons"]]
    assert sample["case_id"] == flow.instance_id
