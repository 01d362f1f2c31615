"""Seed §12: a second Stage 2 about the same child shows when the MASH asked before, and a partner can
open its own agency's earlier answer (never another agency's, never the soft information)."""

from datetime import datetime, timedelta

from app.engine.clock import CLOCK
from app.services.core import timers
from tests.support.flow import AGREE, HISTORY, Flow
from tests.support.pages import Browser, soup
from tests.support.stage1 import TRIAGE
from tests.support.stage2 import CANARY, PARTNER_PASSWORD, partner_answer, request_agencies, sign_in_partners, to_stage2


def _finish_first_case(client):
    flow = to_stage2(client)
    request_agencies(flow, ["police", "health", "education"])
    flow.do("police", "partner_answer", partner_answer("Two domestic call-outs this year", sensitive=CANARY))
    flow.do("nurse", "partner_answer", partner_answer("Health visitor: missed appointments"))
    CLOCK.freeze(datetime.fromisoformat(flow.task("edu", "partner_answer")["due_at"]) + timedelta(minutes=1))
    timers.fire_due()
    sign_in_partners(flow, client)
    flow.do("mgr", "late_answers", {"late_decision": "proceed", "late_reason": "Cannot wait longer"})
    return flow


def test_collation_shows_answers_side_by_side_with_provenance(app, client):
    flow = _finish_first_case(client)
    dm = Browser(app, "dm")
    page = soup(dm.get(f"/tasks/{flow.task('dm', 'stage2_collation')['id']}"))
    answers = page.find(id="agency-answers").parent.get_text(" ", strip=True)
    assert "Two domestic call-outs this year" in answers and "Health visitor: missed appointments" in answers
    assert CANARY in answers  # the decision maker is inside the MASH: soft information included, marked
    assert "Sensitive — stays in the MASH" in answers
    assert "The request was withdrawn: Cannot wait longer" in answers
    assert "Answered by" in answers


def test_second_stage2_shows_the_earlier_one_and_the_agency_its_own_answer(app, client):
    first = _finish_first_case(client)
    first.do(
        "dm",
        "stage2_collation",
        {
            "revised_rag": "AMBER",
            "rag_reason": "Known to police",
            "recommended_outcome": "early_help",
            "rationale": "Needs support",
        },
    )
    first.do("mgr", "stage2_review", {"manager_decision": "agree", "manager_comments": None})
    index_id = first.instance()["data"]["index_update"]["index_id"]

    CLOCK.advance(timedelta(days=30))
    second = Flow(client)
    sign_in_partners(second, client)
    second.do(
        "masho",
        "record_contact",
        {
            "appendix_a_q1": "Bruising again.",
            "consent": "obtained",
            "consent_given_by": "Mother",
            "safety_scale": 5,
            "request_type": "service_request",
            "information_only": False,
            "red_criteria": [],
            "manager_attention_criteria": [],
        },
    )
    second.do("masho", "history_check", {**HISTORY, "confirmed_matches": [index_id]})
    assert second.instance()["data"]["history"]["previous_stage2"][0]["agencies"] == ["health", "police"]
    second.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    second.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear"})
    second.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "AMBER"})

    dm = Browser(app, "dm")
    request_page = soup(dm.get(f"/tasks/{second.task('dm', 'stage2_request')['id']}")).get_text(" ", strip=True)
    assert "Earlier information sharing (Stage 2)" in request_page and "(Health, Police answered)" in request_page
    request_agencies(second, ["police", "health"])

    police = Browser(app)
    police.sign_in("police")
    task_id = second.task("police", "partner_answer")["id"]
    page = soup(police.get(f"/tasks/{task_id}"))
    link = page.find(id="earlier-answers").find("a")
    earlier = police.get(link["href"])
    assert earlier.status_code == 200
    text = soup(earlier).get_text(" ", strip=True)
    assert "Two domestic call-outs this year" in text and CANARY not in earlier.get_data(as_text=True)
    assert "held inside the MASH" in text

    # health's earlier answer is health's: the police cannot open it, and health sees only its own
    nurse = Browser(app)
    nurse.sign_in("nurse", PARTNER_PASSWORD)
    nurse_task = second.task("nurse", "partner_answer")["id"]
    assert nurse.get(link["href"].replace(task_id, nurse_task)).status_code == 403
    assert nurse.get(f"/tasks/{nurse_task}").status_code == 200
    first.api.tokens.clear()  # a month has passed: sign in again
    viewed = [e for e in first.history() if e["type"] == "earlier_answer_viewed"]
    assert [e["actor"] for e in viewed] == ["police"]
