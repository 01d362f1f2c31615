"""Protocol rules of the conformance matrix (docs/conformance.md) that no other test asserted, one test per
rule, each driving a real case through the API with the role that does each step in the MASH.

The `ctx` clock is frozen at Tuesday 2026-11-24 10:00 UTC (November: UTC is London time). The MASH is open
Mon–Thu 09:00–17:30 and Fri 09:00–17:00; a working `P1D` keeps the clock time on the next working day, a
start outside opening hours first moving to the next opening (spec §5). Every due time below is that
instant, written out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.engine.clock import CLOCK
from app.services.core import timers
from tests.support.flow import AGREE, HISTORY, RECORD, Flow
from tests.support.pages import Browser, soup
from tests.support.stage1 import TRIAGE, acknowledge

pytestmark = pytest.mark.restart_between_steps  # a restart / another worker between every step


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _due(task: dict) -> datetime:
    assert task["due_at"], f"{task['bpmn_id']} has no due time"
    return _at(task["due_at"])


def _move_to(flow: Flow, when: datetime) -> None:
    """Set the clock; API tokens are short-lived, so everyone signs in again."""
    CLOCK.freeze(when)
    flow.api.tokens.clear()


def _reviews(flow: Flow, bpmn_id: str) -> list[dict]:
    """The manager's open overdue reviews of the task `bpmn_id`: history links each late task to its review."""
    reviews = {r for e in _events(flow, "task_overdue", bpmn_id) for r in e["detail"]["reviews"]}
    return [t for t in flow.ready("mgr") if t["id"] in reviews]


def _errors(response: dict) -> dict:
    return response["details"]["errors"]


def _events(flow: Flow, kind: str, bpmn_id: str | None = None) -> list[dict]:
    return [e for e in flow.history() if e["type"] == kind and (bpmn_id is None or e["bpmn_id"] == bpmn_id)]


# --------------------------------------------------------------------------- A. timescales


def test_an_email_or_online_contact_is_recorded_within_one_working_day(client):
    """§9 Stage 1 ("within 24 hrs if contact received by email or via the online referral form"); App. D 2.10.

    Received on Monday at 18:00, after closing: one working day runs from Tuesday's 09:00 opening, so the
    recording is due on Wednesday at 09:00 — not at 19:00 on Monday (the phone hour) nor at 18:00 on
    Tuesday (24 hours elapsed). The manager is alerted when that instant passes, not before."""
    received = "2026-11-23T18:00:00+00:00"
    flows = {channel: Flow(client, channel=channel, received_at=received) for channel in ("email", "online_form")}
    for channel, flow in flows.items():
        task = flow.task("masho", "record_contact")
        assert _due(task) == utc(2026, 11, 25, 9, 0), channel
        assert _at(flow.instance()["decision_due_at"]) == utc(2026, 11, 25, 9, 0)

    first = next(iter(flows.values()))
    _move_to(first, utc(2026, 11, 25, 8, 59))
    timers.fire_due()
    for flow in flows.values():
        flow.api.tokens.clear()
        assert _reviews(flow, "record_contact") == []
    _move_to(first, utc(2026, 11, 25, 9, 1))
    timers.fire_due()
    for channel, flow in flows.items():
        flow.api.tokens.clear()
        (review,) = _reviews(flow, "record_contact")
        assert review["instance_id"] == flow.instance_id, channel
        assert flow.task("masho", "record_contact")  # the late recording can still be done


def test_triage_is_due_one_working_day_from_allocation_or_by_the_outcome_deadline_if_sooner(client):
    """§9 Stage 1 ("The Decision Makers will triage all contacts allocated to them by their MASH manager
    within 24 hours"); spec §3.7, §5 (triage from allocation, capped by `outcome_due_at`).

    A phone contact received on Friday 27 November at 09:30 has its decision deadline on Monday at 09:30.
    Allocated on Friday at 10:00, the triage is due at the earlier of Monday 10:00 (allocation + one
    working day, over the weekend) and Monday 09:30: Monday 09:30. Triaged GREEN at 11:00 the outcome
    clock restarts (Monday 11:00); a challenged triage then falls due on the allocation clock, Monday
    10:00, and the manager is alerted at that instant."""
    friday = utc(2026, 11, 27, 10, 0)
    CLOCK.freeze(friday)
    flow = Flow(client, received_at="2026-11-27T09:30:00+00:00")
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})  # Friday 10:00
    first = flow.task("dm", "triage_social_care")
    assert _due(first) == utc(2026, 11, 30, 9, 30)  # the decision deadline, sooner than Monday 10:00

    _move_to(flow, friday + timedelta(hours=1))  # Friday 11:00
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    assert _at(flow.instance()["outcome_due_at"]) == utc(2026, 11, 30, 11, 0)  # GREEN: one working day
    flow.do(
        "mgr",
        "sign_off_social_care",
        {"manager_decision": "challenge", "manager_comments": "Speak to the school first."},
    )
    again = flow.task("dm", "triage_social_care")
    assert _due(again) == utc(2026, 11, 30, 10, 0)  # allocation (Friday 10:00) + one working day

    _move_to(flow, utc(2026, 11, 30, 9, 59))
    timers.fire_due()
    assert _reviews(flow, "triage_social_care") == []
    _move_to(flow, utc(2026, 11, 30, 10, 1))
    timers.fire_due()
    (review,) = _reviews(flow, "triage_social_care")
    assert review["instance_id"] == flow.instance_id
    assert flow.task("dm", "triage_social_care")["id"] == again["id"]  # the work carries on


def test_an_anonymous_referrer_gets_no_acknowledgement_task(client):
    """App. D 2.11 ("the referrer received acknowledgement within one working day"); spec §3.10 ("not for
    anonymous referrers").

    No acknowledgement task is ever raised for business support, nothing is overdue at the
    acknowledgement deadline, and the contact closes without one."""
    flow = Flow(client, referrer={"anonymous": True, "relationship": "neighbour"})
    flow.intake(
        {
            "consent": "not_sought",
            "consent_given_by": None,
            "consent_not_sought_reason": "anonymous_referrer",
            "request_type": "advice",
            "information_only": True,
        }
    )
    assert flow.instance()["data"]["referrer_anonymous"] is True
    flow.do(
        "mgr",
        "consent_review",
        {"consent_action": "override", "consent_override_rationale": "Anonymous caller: consent cannot be sought"},
    )
    assert flow.ready("bs") == []
    (ack,) = _events(flow, "route_taken", "ack_gw")
    assert ack["detail"]["to"] == ["ack_done"]  # the "Anonymous" flow, past send_acknowledgement

    _move_to(flow, utc(2026, 11, 25, 9, 31))  # still open past the acknowledgement deadline of a named referrer
    assert timers.fire_due() >= 1  # the decision deadline passed too
    assert _reviews(flow, "send_acknowledgement") == [] and flow.ready("bs") == []
    flow.do("masho", "give_information", {"information_given_detail": "Signposted to the local family hub."})
    flow.do(
        "mgr",
        "agree_contact_stays_open",
        {"stay_open_agreed": True, "stay_open_reason": "Caller rang back with more detail."},
    )
    for review in flow.ready("mgr"):  # the late information step
        flow.do("mgr", review["bpmn_id"], {"action_taken": "Spoke to the MASHO.", "escalated": False})
    assert _events(flow, "task_ready", "send_acknowledgement") == []
    case = flow.instance()
    assert (case["status"], case["outcome"]) == ("completed", "information_given")


def test_outcome_letters_are_due_one_working_day_after_the_agreeing_sign_off(client):
    """App. B B8 ("Alert Business Support to send out MASH outcome letter within 24hrs"); §8; spec §3.10.

    Signed off on Friday 27 November at 16:30: the referrer letter is due one working day later, on
    Monday at 16:30 (not Saturday), and is reported late at that instant. The family letter, deferred by
    the manager to Wednesday 2 December 14:00, is due then and is not late before it."""
    flow = Flow(client)
    flow.intake()
    acknowledge(flow)
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "not_met"})
    # the first sign-off challenges: it agrees nothing, so no letter is raised yet
    flow.do("mgr", "sign_off_social_care", {"manager_decision": "challenge", "manager_comments": "Check the school."})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "not_met"})
    assert flow.ready("bs") == []
    _move_to(flow, utc(2026, 11, 27, 16, 30))  # Friday 16:30
    flow.do(
        "mgr",
        "sign_off_social_care",
        {
            **AGREE,
            "agreed_rag": "NONE",
            "family_notification": "defer",
            "family_notification_reason": "Mother is in hospital until Tuesday",
            "family_notification_due": "2026-12-02T14:00:00+00:00",
        },
    )
    letters = {t["bpmn_id"]: t for t in flow.ready("bs")}
    assert set(letters) == {"send_referrer_letter", "send_family_letter"}
    assert _due(letters["send_referrer_letter"]) == utc(2026, 11, 30, 16, 30)
    assert _due(letters["send_family_letter"]) == utc(2026, 12, 2, 14, 0)

    _move_to(flow, utc(2026, 11, 30, 16, 29))
    timers.fire_due()
    assert _reviews(flow, "send_referrer_letter") == []
    _move_to(flow, utc(2026, 11, 30, 16, 31))
    timers.fire_due()
    assert len(_reviews(flow, "send_referrer_letter")) == 1
    assert _reviews(flow, "send_family_letter") == []  # deferred: not due yet
    _move_to(flow, utc(2026, 12, 2, 13, 59))
    timers.fire_due()
    assert _reviews(flow, "send_family_letter") == []
    _move_to(flow, utc(2026, 12, 2, 14, 1))
    timers.fire_due()
    assert len(_reviews(flow, "send_family_letter")) == 1


def test_after_stage2_the_letters_are_due_one_working_day_after_the_review_that_agreed_the_outcome(client):
    """App. B B8; spec §3.10 ("within P1D working of the sign-off that agreed the outcome"), §6.7 ("Letters
    and phone calls follow §3.10").

    Stage 1 is signed off on Tuesday at 10:00 (to Stage 2); the team manager agrees the Stage 2 outcome on
    Thursday 26 November at 11:00: the letters are due on Friday at 11:00, not on Wednesday at 10:00 (which
    would make them late the moment they are raised)."""
    flow = Flow(client)
    flow.intake()
    acknowledge(flow)
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "AMBER"})  # Tuesday 10:00
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": ["police"],
            "request_details": "Is the family known?",
            "agency_reasons": [{"agency": "police", "reason": "Incidents at the address"}],
        },
    )
    flow.do(
        "police",
        "partner_answer",
        {
            "agency_response": {
                "information": [{"text": "No police involvement", "verified": True}],
                "analysis": "No known risk",
                "recommendation": "Early help",
            }
        },
    )
    flow.do(
        "dm",
        "stage2_collation",
        {
            "revised_rag": "GREEN",
            "rag_reason": "Partners report support in place",
            "recommended_outcome": "early_help",
            "rationale": "Needs met by Early Help",
        },
    )
    _move_to(flow, utc(2026, 11, 26, 11, 0))  # Thursday 11:00
    flow.do("mgr", "stage2_review", {"manager_decision": "agree"})
    # App. C "early help 72hrs": the Stage 2 handover too is timed from the review (three working days)
    handover = flow.task("eh_team", "handover")
    assert _due(handover) == utc(2026, 12, 1, 11, 0)
    data = flow.instance()["data"]
    assert _at(data["signed_off_at"]) == utc(2026, 11, 26, 11, 0)
    assert _at(data["stage1_signed_off_at"]) == utc(2026, 11, 24, 10, 0)  # the decision to share is kept
    flow.do("eh_team", "handover", {"handover_accepted": True})  # the letters follow the handover
    letters = {t["bpmn_id"]: t for t in flow.ready("bs")}
    assert _due(letters["send_referrer_letter"]) == utc(2026, 11, 27, 11, 0)
    assert _due(letters["send_family_letter"]) == utc(2026, 11, 27, 11, 0)
    # App. D 2.8: the decision about the type of response (Stage 2, Tuesday 10:00) was still within a working day
    from datetime import date

    from app.services.reporting import oversight

    decisions = oversight.decisions_within_one_working_day(oversight.Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert decisions.rows[0][:2] == ["Decided within one working day", 1]


# --------------------------------------------------------------------------- C. Appendix B branches


def test_concerns_arising_while_answering_a_request_for_information_go_to_allocation_and_triage(client):
    """App. B B7 ("If Concerns arise"); spec §3.5 ("if concerns arise, the contact goes to allocation").

    Nothing goes to the manager for disclosure sign-off; the MASH manager allocates and a social care
    decision maker triages, and the contact ends as a triage outcome, not as an answered request."""
    flow = Flow(client, channel="information_request")
    flow.intake({"request_type": "information_request"})
    assert flow.instance()["data"]["contact_route"] == "information_request"
    flow.do(
        "dm",
        "draft_information_response",
        {
            "response_draft": "Known to services in 2024.",
            "disclosure_to": "Other LA",
            "disclosure_purpose": "Safeguarding enquiry",
            "lawful_basis": "public_task",
            "concerns_arise": True,
        },
    )
    assert [t["bpmn_id"] for t in flow.ready("mgr")] == ["allocate"]
    assert _events(flow, "task_ready", "sign_off_disclosure") == []
    (route,) = _events(flow, "route_taken", "concerns_gw")
    assert route["detail"]["to"] == ["allocation_merge"]  # the "Yes" flow
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    case = flow.instance()
    assert (case["route"], case["outcome"], case["is_referral"]) == ("s17_assessment", "s17_assessment", True)
    assert flow.task("fr", "handover")


def _triage_with_checks(client) -> Flow:
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17", "single_agency_checks": CHECKS})
    return flow


CHECKS = [
    {"agency": "probation", "checked_at": "2026-11-24T10:00:00+00:00", "finding": "Father on licence until March 2027"},
    {"agency": "cafcass", "checked_at": None, "finding": "Private law proceedings closed in 2025"},
]


def test_single_agency_checks_are_recorded_at_triage_and_kept_on_the_case(client):
    """App. B B5 ("DECISION MAKER: Information checks/requests completed in specific circumstances i.e.
    probation, CAFCASS, EHCP, Other LA, Ofsted"); spec §3.7 (optional single-agency checks).

    The checks the decision maker records at triage stay on the case: in the case record, on the
    manager's sign-off task, in the history of the triage (who recorded them), and after sign-off."""
    flow = _triage_with_checks(client)
    assert flow.instance()["data"]["single_agency_checks"] == CHECKS
    sign_off = flow.task("mgr", "sign_off_social_care")
    assert sign_off["data"]["single_agency_checks"] == CHECKS
    (triaged,) = _events(flow, "task_completed", "triage_social_care")
    assert triaged["actor"] == "dm" and triaged["detail"]["values"]["single_agency_checks"] == CHECKS
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    assert flow.instance()["data"]["single_agency_checks"] == CHECKS


def test_the_manager_signing_off_sees_the_single_agency_checks_on_the_page(app, client):
    """App. B B5; App. D 2.6 ("all the relevant checks"), 2.17 (the manager authorises the contact): the
    manager who signs off the triage in the browser can read the checks it rests on."""
    flow = _triage_with_checks(client)
    sign_off = flow.task("mgr", "sign_off_social_care")
    page = soup(Browser(app, "mgr").get(f"/tasks/{sign_off['id']}")).get_text(" ", strip=True)
    assert "Father on licence until March 2027" in page and "Private law proceedings closed in 2025" in page


# --------------------------------------------------------------------------- D. decisions


def test_the_decision_maker_overrides_the_proposed_route_and_rag_only_with_a_reason(client):
    """§9 ("The MASH manager reviews the decision maker's decisions and recommendations"); spec §3.7
    ("the decision maker may override with route_override, rag_override and override_reason (history
    keeps both)").

    The table proposes NFA with no RAG for a threshold not met; the decision maker overrides to Early
    Help, GREEN. Without a reason either override is refused (422 on `override_reason`); with one the
    override is the route and RAG in force, while the case and its history keep what was proposed."""
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    triage = {**TRIAGE, "threshold": "not_met"}
    for override in (
        {"route_override": "early_help"},
        {"rag_override": "GREEN"},
        {"route_override": "early_help", "rag_override": "GREEN", "override_reason": None},
    ):
        refused = flow.do("dm", "triage_social_care", {**triage, **override}, status=422)
        assert "override_reason" in _errors(refused), override
    reason = "Mother asked for parenting support; Early Help can offer it"
    flow.do(
        "dm",
        "triage_social_care",
        {**triage, "route_override": "early_help", "rag_override": "GREEN", "override_reason": reason},
    )
    case = flow.instance()
    assert (case["route"], case["rag"]) == ("early_help", "GREEN")
    assert (case["data"]["proposed_route"], case["data"]["proposed_rag"]) == ("nfa", "NONE")
    assert case["data"]["override_reason"] == reason
    decisions = [e for e in _events(flow, "decision_evaluated") if e["detail"]["decision_id"] == "triage_outcome"]
    assert [(d["detail"]["outputs"]["route"], d["detail"]["outputs"]["rag"]) for d in decisions] == [("nfa", "NONE")]
    (triaged,) = _events(flow, "task_completed", "triage_social_care")
    values = triaged["detail"]["values"]
    assert (values["route_override"], values["rag_override"], values["override_reason"]) == (
        "early_help",
        "GREEN",
        reason,
    )
    assert [(e["detail"]["from"], e["detail"]["to"]) for e in _events(flow, "rag_changed")][-1] == ("NONE", "GREEN")
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    case = flow.instance()
    assert (case["outcome"], case["data"]["receiving_team"]) == ("early_help", "early_help")


def test_a_blank_override_reason_is_no_reason(client):
    """§9; spec §3.7: an override needs a reason; an empty string is not one (the record_contact and
    sign-off forms refuse blank answers with `minLength: 1`)."""
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    refused = flow.do(
        "dm",
        "triage_social_care",
        {**TRIAGE, "threshold": "not_met", "route_override": "early_help", "override_reason": ""},
        status=422,
    )
    assert "override_reason" in _errors(refused)
    refused = flow.do(
        "dm",
        "triage_social_care",
        {**TRIAGE, "threshold": "not_met", "rag_override": "GREEN", "override_reason": "   "},
        status=422,
    )  # spaces are no reason
    assert "override_reason" in _errors(refused)
    assert flow.instance()["data"].get("route_override") is None  # nothing was applied


# --------------------------------------------------------------------------- F. Appendix D standards


def test_consent_obtained_or_implied_needs_who_gave_it(client):
    """App. D 2.4 ("the referrer has gained the consent of a person with PR"); spec §3.2, §10
    (`consent_given_by` when obtained or implied).

    Recording consent as obtained or implied without who gave it — left out, null or blank — is refused
    with a field error on `consent_given_by`; consent refused needs no name; with the name it is kept."""
    flow = Flow(client)
    record = {k: v for k, v in RECORD.items() if k != "consent_given_by"}
    for consent in ("obtained", "implied"):
        for given_by in ({}, {"consent_given_by": None}, {"consent_given_by": ""}):
            refused = flow.do("masho", "record_contact", {**record, "consent": consent, **given_by}, status=422)
            assert set(_errors(refused)) == {"consent_given_by"}, (consent, given_by)
    assert flow.task("masho", "record_contact")  # nothing was recorded
    flow.do(
        "masho",
        "record_contact",
        {**record, "consent": "implied", "consent_given_by": "Father (parental responsibility)"},
    )
    data = flow.instance()["data"]
    assert (data["consent"], data["consent_given_by"]) == ("implied", "Father (parental responsibility)")
    refused_consent = Flow(client)
    refused_consent.do("masho", "record_contact", {**record, "consent": "refused"})
    assert refused_consent.instance()["data"]["consent_given_by"] is None


def test_a_triage_without_its_analysis_is_refused(client):
    """App. D 2.12 ("all elements of risk in the contact were fully explored, using Thresholds &
    Pathways"); spec §3.7 (triage: analysis).

    The triage cannot be submitted without an analysis, left out or blank: 422 with a field error on
    `analysis`, and the triage stays with the decision maker with no route proposed."""
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    without = {k: v for k, v in TRIAGE.items() if k != "analysis"}
    for analysis in ({}, {"analysis": None}, {"analysis": ""}):
        refused = flow.do("dm", "triage_social_care", {**without, "threshold": "s17", **analysis}, status=422)
        assert set(_errors(refused)) == {"analysis"}, analysis
    assert flow.task("dm", "triage_social_care")
    assert flow.instance()["route"] is None
    assert [e for e in _events(flow, "decision_evaluated") if e["detail"]["decision_id"] == "triage_outcome"] == []
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    assert flow.instance()["data"]["analysis"] == TRIAGE["analysis"]


def test_a_history_check_without_a_synopsis_is_refused(client):
    """App. D 2.19 ("I have started a synopsis of concerns to inform the chronology"); App. B B1.

    The MASHO cannot complete the history check without starting a synopsis, left out or blank: 422 with
    a field error on `synopsis`; with one, the synopsis is on the case."""
    flow = Flow(client)
    flow.do("masho", "record_contact", RECORD)
    without = {k: v for k, v in HISTORY.items() if k != "synopsis"}
    for synopsis in ({}, {"synopsis": None}, {"synopsis": ""}):
        refused = flow.do("masho", "history_check", {**without, **synopsis}, status=422)
        assert set(_errors(refused)) == {"synopsis"}, synopsis
    assert flow.task("masho", "history_check")
    flow.do("masho", "history_check", {**without, "synopsis": "Two contacts in 2025 about school attendance."})
    assert flow.instance()["data"]["synopsis"] == "Two contacts in 2025 about school attendance."


# --------------------------------------------------------------------------- G. App. F information sharing


def test_unverified_partner_facts_are_marked_on_the_collation_and_the_handover(app, client):
    """App. F rule 6 ("information that has not been verified or is possibly hearsay or conjecture … must
    be clearly noted in the record"); spec §6.2.

    A partner shares one verified fact and one it has not verified. The mark travels with each fact: in
    the decision maker's collation task and page, and in the receiving team's handover package and page."""
    verified, hearsay = "Two domestic call-outs this year", "Neighbour reports shouting at night"
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "AMBER"})
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": ["police"],
            "request_details": "Is the family known?",
            "agency_reasons": [{"agency": "police", "reason": "Incidents at the address"}],
        },
    )
    flow.do(
        "police",
        "partner_answer",
        {
            "agency_response": {
                "information": [{"text": verified, "verified": True}, {"text": hearsay, "verified": False}],
                "analysis": "Possible domestic abuse in the household",
                "recommendation": "Assessment",
            }
        },
    )
    expected = [{"text": verified, "verified": True}, {"text": hearsay, "verified": False}]

    collation = flow.task("dm", "stage2_collation")
    (answer,) = collation["data"]["agency_responses"]
    assert answer["information"] == expected
    page = soup(Browser(app, "dm").get(f"/tasks/{collation['id']}"))
    facts = {li.get_text(" ", strip=True) for li in page.find(id="agency-answers").parent.find_all("li")}
    assert f"{verified} Verified" in facts and f"{hearsay} Not verified" in facts

    flow.do(
        "dm",
        "stage2_collation",
        {
            "revised_rag": "AMBER",
            "rag_reason": "Domestic abuse concerns",
            "recommended_outcome": "s17_assessment",
            "rationale": "Needs assessment",
        },
    )
    flow.do("mgr", "stage2_review", {"manager_decision": "agree"})
    package = flow.api.get("fr", f"/api/v1/instances/{flow.instance_id}/handover").json["package"]
    (shared,) = package["agency_responses"]
    assert shared["information"] == expected
    page = soup(Browser(app, "fr").get(f"/cases/{flow.instance_id}/handover"))
    marks = {}
    for fact in page.find_all("dl"):
        text = fact.get_text(" ", strip=True)
        for said in (verified, hearsay):
            if said in text and len(fact.find_all("dl")) == 0:
                marks[said] = text
    assert marks[verified].endswith("Verified Yes") and marks[hearsay].endswith("Verified No"), marks


# --------------------------------------------------------------------------- I. disputes


def test_the_case_carries_on_while_a_dispute_about_it_is_open(client):
    """§14 ("When the threshold for a Social Work single assessment is met, all social care teams are to
    progress the MASH recommendations"); spec §7 ("The case is not paused").

    First Response disagrees with the s17 decision and raises a dispute; while it is open at level 1 the
    team still accepts the handover, and the case finishes with its letters, the dispute still running."""
    flow = Flow(client)
    flow.intake()
    acknowledge(flow)
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    raised = flow.api.post(
        "fr",
        f"/api/v1/instances/{flow.instance_id}/disputes",
        {"disputed_decision": "s17 assessment", "position": "Early Help would meet the need."},
    )
    assert raised.status_code == 201, raised.json
    dispute_id = raised.json["dispute_instance_id"]
    dispute = flow.api.get("auditor", f"/api/v1/instances/{dispute_id}").json
    assert (dispute["status"], dispute["data"]["level"]) == ("running", 1)
    assert [e["actor"] for e in _events(flow, "dispute_raised")] == ["fr"]

    flow.do("fr", "handover", {"handover_accepted": True})
    flow.do("bs", "send_referrer_letter", {"sent_at": "2026-11-24T15:00:00+00:00", "letter_method": "email"})
    flow.do(
        "bs",
        "send_family_letter",
        {"family_letter_sent_at": "2026-11-24T15:00:00+00:00", "family_letter_method": "post"},
    )
    case = flow.instance()
    assert (case["status"], case["outcome"], case["data"]["receiving_team"]) == (
        "completed",
        "s17_assessment",
        "first_response",
    )
    dispute = flow.api.get("auditor", f"/api/v1/instances/{dispute_id}").json
    assert (dispute["status"], dispute["data"]["level"]) == ("running", 1)
