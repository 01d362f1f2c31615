"""The four deployed decision tables (spec §4): structure, XSD validity and every rule.

Each case gives the inputs, the outputs the spec's table says, and the rule that must match, so
a reordered or edited row shows up here as the rule id that changed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from app.engine.dmn import (
    DMN_NAMESPACES,
    DecisionError,
    DecisionTable,
    check_decision,
    evaluate_decision,
    parse_decision,
)
from app.engine.evaluator import RestrictedEvaluator

DMN_DIR = Path(__file__).resolve().parents[2] / "dmn"
# SpiffWorkflow ships the OMG schemas; find them without importing it.
_SPIFF = importlib.util.find_spec("SpiffWorkflow")
assert _SPIFF is not None and _SPIFF.submodule_search_locations
XSD = Path(next(iter(_SPIFF.submodule_search_locations))) / "dmn" / "parser" / "schema" / "DMN13.xsd"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
EVALUATOR = RestrictedEvaluator({})
DECISIONS = ("contact_routing", "triage_outcome", "rag_timescales", "handover_timescales")


def tree(decision_id: str) -> etree._ElementTree:
    return etree.parse(str(DMN_DIR / f"{decision_id}.dmn"), PARSER)


_TABLES: dict[str, DecisionTable] = {}


def table(decision_id: str) -> DecisionTable:
    if decision_id not in _TABLES:
        _TABLES[decision_id] = parse_decision(tree(decision_id).getroot())
    return _TABLES[decision_id]


def decide(decision_id: str, data: dict[str, Any]):
    return evaluate_decision(table(decision_id), data, EVALUATOR.evaluate)


# --------------------------------------------------------------------------- files and structure


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD), PARSER))


@pytest.mark.parametrize("decision_id", DECISIONS)
def test_file_is_valid_dmn_13(decision_id, schema):
    doc = tree(decision_id)
    assert schema.validate(doc), schema.error_log
    assert etree.QName(doc.getroot()).namespace == DMN_NAMESPACES[-1]
    assert doc.docinfo.doctype == ""


@pytest.mark.parametrize("decision_id", DECISIONS)
def test_file_passes_the_deploy_checks(decision_id):
    """check_decision raises on any problem; every input expression goes through the evaluator's check first."""
    checked: list[str] = []

    def check(source: str) -> None:
        checked.append(source)
        EVALUATOR.check(source, "eval")

    decision = table(decision_id)
    check_decision(decision, check)
    assert checked[: len(decision.inputs)] == [i.expression for i in decision.inputs]


SHAPES = {
    "contact_routing": (
        "FIRST",
        ["request_type", "open_case", "urgent", "manager_attention", "information_only"],
        ["contact_route", "provisional_rag", "alert_mash_manager", "alert_team_manager"],
        ["r1", "r2", "r3", "r4", "r5", "r6"],
    ),
    "triage_outcome": (
        "FIRST",
        [
            "threshold",
            "urgent",
            "open_case",
            "closed_within_12_weeks_same_concerns",
            "risk_may_become_significant_harm",
        ],
        ["route", "rag", "notify_by"],
        ["r0a", "r0b", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12"],
    ),
    "rag_timescales": (
        "UNIQUE",
        ["rag"],
        ["outcome_due_in", "outcome_calendar", "partner_due_in", "partner_calendar", "info_sharing"],
        ["red", "amber", "green", "none"],
    ),
    "handover_timescales": (
        "FIRST",
        ["agreed_rag", "route"],
        ["handover_due_in", "handover_calendar"],
        ["r1", "r2", "r3", "r4", "r5"],
    ),
}


@pytest.mark.parametrize("decision_id", DECISIONS)
def test_ids_names_hit_policy_and_rule_order_match_the_spec(decision_id):
    hit_policy, inputs, outputs, rules = SHAPES[decision_id]
    t = table(decision_id)
    assert (t.decision_id, t.decision_name) == (decision_id, decision_id)
    assert t.hit_policy == hit_policy and t.aggregation is None
    assert [i.expression for i in t.inputs] == inputs
    assert [o.name for o in t.outputs] == outputs
    assert [r.id for r in t.rules] == [f"{decision_id}_{r}" for r in rules]
    assert all(r.description for r in t.rules)
    assert all(i.label and i.type_ref in ("string", "boolean") for i in t.inputs)
    assert all(o.label and o.type_ref in ("string", "boolean") for o in t.outputs)


def test_handover_rule_1_uses_the_not_list_from_the_spec():
    rule = table("handover_timescales").rules[0]
    assert rule.input_entries == (
        "-",
        'not("early_help","lead_professional","previous_team","s17_assessment","s47_strategy")',
    )


# --------------------------------------------------------------------------- contact_routing

ROUTING_BASE = dict(
    request_type="service_request", open_case="none", urgent=False, manager_attention=False, information_only=False
)
NOT_ALERTED = dict(alert_mash_manager=False, alert_team_manager=False)

ROUTING_CASES = [
    # (case, input changes, rule, contact_route, provisional_rag, alert_mash_manager, alert_team_manager)
    ("open to social care", dict(open_case="social_care"), "r1", "allocated_worker", "NONE", False, False),
    (
        "open to social care, urgent beats r2",
        dict(open_case="social_care", urgent=True),
        "r1",
        "allocated_worker",
        "RED",
        True,
        True,
    ),  # spec §11.2
    (
        "open to social care, manager attention",
        dict(open_case="social_care", manager_attention=True),
        "r1",
        "allocated_worker",
        "NONE",
        True,
        False,
    ),
    (
        "open to social care, urgent and manager attention",
        dict(open_case="social_care", urgent=True, manager_attention=True),
        "r1",
        "allocated_worker",
        "RED",
        True,
        True,
    ),  # spec §11.2
    (
        "open to social care, information request",
        dict(open_case="social_care", request_type="information_request"),
        "r1",
        "allocated_worker",
        "NONE",
        False,
        False,
    ),
    (
        "open to social care, advice only",
        dict(open_case="social_care", request_type="advice", information_only=True),
        "r1",
        "allocated_worker",
        "NONE",
        False,
        False,
    ),
    ("urgent", dict(urgent=True), "r2", "triage", "RED", True, False),
    ("urgent, manager attention", dict(urgent=True, manager_attention=True), "r2", "triage", "RED", True, False),
    (
        "urgent beats advice only",
        dict(urgent=True, request_type="advice", information_only=True),
        "r2",
        "triage",
        "RED",
        True,
        False,
    ),
    (
        "urgent beats information request",
        dict(urgent=True, request_type="information_request"),
        "r2",
        "triage",
        "RED",
        True,
        False,
    ),
    (
        "urgent beats domestic abuse",
        dict(urgent=True, request_type="domestic_abuse"),
        "r2",
        "triage",
        "RED",
        True,
        False,
    ),
    ("urgent, open to early help", dict(urgent=True, open_case="early_help"), "r2", "triage", "RED", True, False),
    ("advice only", dict(request_type="advice", information_only=True), "r3", "information_only", "NONE", False, False),
    (
        "advice only but manager attention",
        dict(request_type="advice", information_only=True, manager_attention=True),
        "r6",
        "triage",
        "NONE",
        True,
        False,
    ),
    ("advice, not information only", dict(request_type="advice"), "r6", "triage", "NONE", False, False),
    ("information only but a service request", dict(information_only=True), "r6", "triage", "NONE", False, False),
    (
        "information request",
        dict(request_type="information_request"),
        "r4",
        "information_request",
        "NONE",
        False,
        False,
    ),
    (
        "information request, manager attention",
        dict(request_type="information_request", manager_attention=True),
        "r4",
        "information_request",
        "NONE",
        True,
        False,
    ),
    (
        "information request, information only",
        dict(request_type="information_request", information_only=True),
        "r4",
        "information_request",
        "NONE",
        False,
        False,
    ),
    ("domestic abuse", dict(request_type="domestic_abuse"), "r5", "domestic_abuse_screening", "NONE", False, False),
    (
        "domestic abuse, manager attention",
        dict(request_type="domestic_abuse", manager_attention=True),
        "r5",
        "domestic_abuse_screening",
        "NONE",
        True,
        False,
    ),
    ("service request", {}, "r6", "triage", "NONE", False, False),
    ("service request, manager attention", dict(manager_attention=True), "r6", "triage", "NONE", True, False),
    ("open to early help goes to allocation", dict(open_case="early_help"), "r6", "triage", "NONE", False, False),
]


@pytest.mark.parametrize(
    ("case", "changes", "rule", "route", "rag", "mash", "team"), ROUTING_CASES, ids=[c[0] for c in ROUTING_CASES]
)
def test_contact_routing(case, changes, rule, route, rag, mash, team):
    result = decide("contact_routing", {**ROUTING_BASE, **changes})
    assert result.matched_rule_ids == [f"contact_routing_{rule}"]
    assert result.outputs == dict(
        contact_route=route, provisional_rag=rag, alert_mash_manager=mash, alert_team_manager=team
    )


# --------------------------------------------------------------------------- triage_outcome

TRIAGE_BASE = dict(
    threshold="not_met",
    urgent=False,
    open_case="none",
    closed_within_12_weeks_same_concerns=False,
    risk_may_become_significant_harm=False,
)
CLOSED = dict(closed_within_12_weeks_same_concerns=True)
RISK = dict(risk_may_become_significant_harm=True)

TRIAGE_CASES = [
    # (case, input changes, rule, route, rag, notify_by)
    (
        "open to social care, urgent",
        dict(open_case="social_care", urgent=True),
        "r0a",
        "allocated_worker",
        "RED",
        "none",
    ),
    (
        "open to social care, urgent beats s47",
        dict(open_case="social_care", urgent=True, threshold="s47"),
        "r0a",
        "allocated_worker",
        "RED",
        "none",
    ),
    ("open to social care", dict(open_case="social_care"), "r0b", "allocated_worker", "NONE", "none"),
    (
        "open to social care beats s17 closed",
        dict(open_case="social_care", threshold="s17", **CLOSED),
        "r0b",
        "allocated_worker",
        "NONE",
        "none",
    ),
    (
        "open to social care beats s47",
        dict(open_case="social_care", threshold="s47"),
        "r0b",
        "allocated_worker",
        "NONE",
        "none",
    ),
    ("s47", dict(threshold="s47"), "r1", "s47_strategy", "RED", "phone"),
    ("s47, urgent", dict(threshold="s47", urgent=True), "r1", "s47_strategy", "RED", "phone"),
    ("s47, closed within 12 weeks", dict(threshold="s47", **CLOSED), "r1", "s47_strategy", "RED", "phone"),
    ("s17, urgent, closed", dict(threshold="s17", urgent=True, **CLOSED), "r2", "previous_team", "RED", "letter"),
    ("s17, urgent", dict(threshold="s17", urgent=True), "r3", "s17_assessment", "RED", "letter"),
    ("s17, urgent, risk", dict(threshold="s17", urgent=True, **RISK), "r3", "s17_assessment", "RED", "letter"),
    ("unclear, urgent", dict(threshold="unclear", urgent=True), "r4", "stage2", "RED", "none"),
    (
        "unclear, urgent, closed still stage 2",
        dict(threshold="unclear", urgent=True, **CLOSED),
        "r4",
        "stage2",
        "RED",
        "none",
    ),
    ("not met, urgent, risk", dict(threshold="not_met", urgent=True, **RISK), "r5", "stage2", "RED", "none"),
    ("early help, urgent, risk", dict(threshold="early_help", urgent=True, **RISK), "r5", "stage2", "RED", "none"),
    (
        "early help, urgent, risk beats open to early help",
        dict(threshold="early_help", urgent=True, open_case="early_help", **RISK),
        "r5",
        "stage2",
        "RED",
        "none",
    ),
    ("s17, closed", dict(threshold="s17", **CLOSED), "r6", "previous_team", "GREEN", "letter"),
    ("s17", dict(threshold="s17"), "r7", "s17_assessment", "GREEN", "letter"),
    ("s17, risk", dict(threshold="s17", **RISK), "r7", "s17_assessment", "GREEN", "letter"),
    (
        "s17, open to early help",
        dict(threshold="s17", open_case="early_help"),
        "r7",
        "s17_assessment",
        "GREEN",
        "letter",
    ),
    ("unclear", dict(threshold="unclear"), "r8", "stage2", "AMBER", "none"),
    ("unclear, closed still stage 2", dict(threshold="unclear", **CLOSED), "r8", "stage2", "AMBER", "none"),
    ("unclear, open to early help", dict(threshold="unclear", open_case="early_help"), "r8", "stage2", "AMBER", "none"),
    ("not met, risk", dict(threshold="not_met", **RISK), "r9", "stage2", "AMBER", "none"),
    ("early help, risk", dict(threshold="early_help", **RISK), "r9", "stage2", "AMBER", "none"),
    (
        "early help, risk beats open to early help",
        dict(threshold="early_help", open_case="early_help", **RISK),
        "r9",
        "stage2",
        "AMBER",
        "none",
    ),
    (
        "not met, open to early help",
        dict(threshold="not_met", open_case="early_help"),
        "r10",
        "lead_professional",
        "GREEN",
        "letter",
    ),
    (
        "early help, open to early help",
        dict(threshold="early_help", open_case="early_help"),
        "r10",
        "lead_professional",
        "GREEN",
        "letter",
    ),
    (
        "urgent, not met, open to early help",
        dict(threshold="not_met", urgent=True, open_case="early_help"),
        "r10",
        "lead_professional",
        "GREEN",
        "letter",
    ),
    ("early help", dict(threshold="early_help"), "r11", "early_help", "GREEN", "letter"),
    ("early help, urgent, no risk", dict(threshold="early_help", urgent=True), "r11", "early_help", "GREEN", "letter"),
    ("early help, closed", dict(threshold="early_help", **CLOSED), "r11", "early_help", "GREEN", "letter"),
    ("not met", dict(threshold="not_met"), "r12", "nfa", "NONE", "letter"),
    ("not met, urgent, no risk", dict(threshold="not_met", urgent=True), "r12", "nfa", "NONE", "letter"),
    ("not met, closed", dict(threshold="not_met", **CLOSED), "r12", "nfa", "NONE", "letter"),
]


@pytest.mark.parametrize(
    ("case", "changes", "rule", "route", "rag", "notify_by"), TRIAGE_CASES, ids=[c[0] for c in TRIAGE_CASES]
)
def test_triage_outcome(case, changes, rule, route, rag, notify_by):
    result = decide("triage_outcome", {**TRIAGE_BASE, **changes})
    assert result.matched_rule_ids == [f"triage_outcome_{rule}"]
    assert result.outputs == dict(route=route, rag=rag, notify_by=notify_by)


def test_triage_threshold_is_required():
    data = {k: v for k, v in TRIAGE_BASE.items() if k != "threshold"}
    with pytest.raises(DecisionError, match="required input 'threshold' is missing"):
        decide("triage_outcome", data)


def test_triage_refuses_an_unknown_threshold_rather_than_falling_through():
    with pytest.raises(DecisionError, match='"s 17" is not one of the allowed values'):
        decide("triage_outcome", {**TRIAGE_BASE, "threshold": "s 17"})


# --------------------------------------------------------------------------- rag_timescales

RAG_CASES = [
    ("RED", "red", "PT4H", "elapsed", "PT4H", "elapsed", "required"),
    ("AMBER", "amber", "P1D", "working", "PT8H", "working", "required"),
    ("GREEN", "green", "P1D", "working", "PT8H", "working", "if_required"),
    ("NONE", "none", "P1D", "working", None, None, "none"),
]


@pytest.mark.parametrize(
    ("rag", "rule", "outcome_due", "outcome_cal", "partner_due", "partner_cal", "sharing"),
    RAG_CASES,
    ids=[c[0] for c in RAG_CASES],
)
def test_rag_timescales(rag, rule, outcome_due, outcome_cal, partner_due, partner_cal, sharing):
    result = decide("rag_timescales", {"rag": rag})
    assert result.matched_rule_ids == [f"rag_timescales_{rule}"]
    assert result.outputs == dict(
        outcome_due_in=outcome_due,
        outcome_calendar=outcome_cal,
        partner_due_in=partner_due,
        partner_calendar=partner_cal,
        info_sharing=sharing,
    )


@pytest.mark.parametrize("bad", [{"rag": "Red"}, {"rag": None}, {}])
def test_rag_timescales_refuses_an_unknown_or_missing_rag(bad):
    with pytest.raises(DecisionError):
        decide("rag_timescales", bad)


# --------------------------------------------------------------------------- handover_timescales

HANDOVER_CASES = [
    # (agreed_rag, route, rule, handover_due_in, handover_calendar)
    ("RED", "nfa", "r1", None, None),
    ("AMBER", "stage2", "r1", None, None),
    ("NONE", "allocated_worker", "r1", None, None),
    ("GREEN", "information_given", "r1", None, None),
    ("RED", None, "r1", None, None),
    ("RED", "s47_strategy", "r2", "PT4H", "elapsed"),
    ("RED", "early_help", "r2", "PT4H", "elapsed"),
    ("RED", "lead_professional", "r2", "PT4H", "elapsed"),
    ("RED", "previous_team", "r2", "PT4H", "elapsed"),
    ("AMBER", "s17_assessment", "r3", "P1D", "working"),
    ("AMBER", "early_help", "r3", "P1D", "working"),
    ("GREEN", "early_help", "r4", "P3D", "working"),
    ("NONE", "early_help", "r4", "P3D", "working"),
    ("GREEN", "s17_assessment", "r5", "P1D", "working"),
    ("GREEN", "lead_professional", "r5", "P1D", "working"),
    ("NONE", "previous_team", "r5", "P1D", "working"),
    ("GREEN", "s47_strategy", "r5", "P1D", "working"),
]


@pytest.mark.parametrize(
    ("agreed_rag", "route", "rule", "due", "calendar"), HANDOVER_CASES, ids=[f"{c[0]}-{c[1]}" for c in HANDOVER_CASES]
)
def test_handover_timescales(agreed_rag, route, rule, due, calendar):
    result = decide("handover_timescales", {"agreed_rag": agreed_rag, "route": route})
    assert result.matched_rule_ids == [f"handover_timescales_{rule}"]
    assert result.outputs == dict(handover_due_in=due, handover_calendar=calendar)


def test_handover_needs_the_route():
    with pytest.raises(DecisionError, match="required input 'route' is missing"):
        decide("handover_timescales", {"agreed_rag": "RED"})


# --------------------------------------------------------------------------- coverage of the cases above


@pytest.mark.parametrize(
    ("decision_id", "covered"),
    [
        ("contact_routing", {c[2] for c in ROUTING_CASES}),
        ("triage_outcome", {c[2] for c in TRIAGE_CASES}),
        ("rag_timescales", {c[1] for c in RAG_CASES}),
        ("handover_timescales", {c[2] for c in HANDOVER_CASES}),
    ],
)
def test_every_rule_has_a_case(decision_id, covered):
    assert {f"{decision_id}_{r}" for r in covered} == {r.id for r in table(decision_id).rules}
