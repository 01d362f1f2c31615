"""Issue 16: the model checks are one pass over one parse, and every problem is a structured value
(rule id, severity, file, element, line, plain message), ordered by severity, file, line and rule."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from lxml import etree

from app.engine import evaluator, loader, xml
from app.engine.errors import RULES, ModelError, Problem, sorted_problems
from app.engine.loader import ModelCheck, build_bundle, check_model_set
from app.engine.runtime import FeelDecisionEngine
from app.services.core.roles import ROLES
from app.services.modelling.model_checks import HOST_START_DATA
from tests.support.engine_models import EV, GOOD, REAL, bpmn, with_input_expression

P = "processes/p.bpmn"
SLOW = "request_type if len([i for i in range(5000)]) >= 0 else request_type"  # valid, a few thousand steps


def check(files) -> ModelCheck:
    return check_model_set(
        files,
        check_expression=EV.check,
        engine_factory=FeelDecisionEngine,
        evaluate=EV.evaluate,
        known_roles=ROLES,
        start_data=HOST_START_DATA,
    )


def only_error(files) -> Problem:
    result = check(files)
    (problem,) = [p for p in result.problems if p.severity == "error"]
    assert result.bundle is None
    assert problem.rule in RULES
    return problem


def line_of(content: bytes | str, needle: str) -> int:
    text = content.decode() if isinstance(content, bytes) else content
    return text[: text.index(needle)].count("\n") + 1


# --------------------------------------------------------------------------- the shape


def test_a_problem_is_a_structured_value_with_the_old_fields_kept():
    problem = Problem(
        rule="no-lane", severity="error", file=P, element="t", line=7, message="in no lane", element_name="Do"
    )
    assert problem.as_dict() == {
        "rule": "no-lane",
        "severity": "error",
        "file": P,
        "element": "t",
        "line": 7,
        "message": "in no lane",
        "element_id": "t",
        "element_name": "Do",
    }
    assert problem.element_id == "t" and str(problem) == f"{P}:7 (Do): in no lane"
    with pytest.raises(TypeError):
        Problem(P, "t", None, 7, "positional fields are refused", "error", "no-lane")  # type: ignore[misc]


def test_problems_are_ordered_by_severity_file_line_and_rule_never_by_message():
    def p(severity, file, line, rule, message):
        return Problem(rule=rule, severity=severity, file=file, element=None, line=line, message=message)

    found = [
        p("warning", "processes/a.bpmn", 1, "fake-join", "a"),
        p("error", "processes/b.bpmn", 3, "invalid-expression", "a"),
        p("error", "processes/b.bpmn", 3, "bpmn-parse", "z"),
        p("error", "processes/b.bpmn", None, "bpmn-schema", "m"),
        p("error", "dmn/x.dmn", 40, "decision-table", "b"),
    ]
    ordered = sorted_problems(found)
    assert [(q.file, q.line, q.rule) for q in ordered] == [
        ("dmn/x.dmn", 40, "decision-table"),
        ("processes/b.bpmn", None, "bpmn-schema"),
        ("processes/b.bpmn", 3, "bpmn-parse"),
        ("processes/b.bpmn", 3, "invalid-expression"),
        ("processes/a.bpmn", 1, "fake-join"),
    ]
    reworded = [
        Problem(
            rule=q.rule, severity=q.severity, file=q.file, element=q.element, line=q.line, message=q.message[::-1] + "!"
        )
        for q in found
    ]
    assert [q.rule for q in sorted_problems(reworded)] == [q.rule for q in ordered]


def test_the_checks_return_their_problems_in_that_order():
    body = GOOD.replace('name="Do"', "") + '<bpmn:task id="lost" name="Lost"/>'
    problems = check({P: bpmn(body), "forms/bad.json": b"{"}).problems
    assert problems == sorted_problems(problems)
    assert [p.severity for p in problems] == sorted((p.severity for p in problems), key=("error", "warning").index)


# --------------------------------------------------------------------------- rule ids and lines


def test_file_level_rules():
    assert only_error({"processes/../x.bpmn": bpmn(GOOD)}).rule == "model-path"
    assert only_error({P: b" " * (xml.MAX_MODEL_BYTES + 1)}).rule == "file-too-large"
    problem = only_error({P: bpmn(GOOD).replace(b'<bpmn:task id="t" name="Do">', b'<bpmn:task id="t" name="Do"')})
    assert problem.rule == "xml-not-well-formed" and problem.file == P and problem.line
    doctype = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e "e">]>\n<x/>'
    problem = only_error({P: doctype})
    assert problem.rule == "xml-doctype" and problem.line == 2
    assert only_error({P: bpmn(GOOD), "forms/f.json": b'{\n  "a": }'}).rule == "form-json"
    problem = only_error({P: bpmn(GOOD), "forms/f.schema.json": b'{"type": 12}'})
    assert problem.rule == "form-schema" and problem.file == "forms/f.schema.json"


def test_a_bpmn_schema_refusal_points_at_its_element_and_line():
    body = GOOD.replace(
        "<bpmn:incoming>f1</bpmn:incoming>",
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:documentation>late</bpmn:documentation>",
        1,
    )
    problem = only_error({P: bpmn(body)})
    assert (problem.rule, problem.element, problem.line) == ("bpmn-schema", "t", line_of(bpmn(body), 'id="t"'))


def test_dmn_rules():
    files = dict(REAL)
    files["dmn/rag_copy.dmn"] = REAL["dmn/rag_timescales.dmn"]
    problem = only_error(files)
    assert (problem.rule, problem.file, problem.element) == (
        "duplicate-decision",
        "dmn/rag_timescales.dmn",
        "rag_timescales",
    )
    files = dict(REAL)
    files["dmn/rag_timescales.dmn"] = (
        REAL["dmn/rag_timescales.dmn"]
        .replace(b"<decisionTable", b"<decisionTabel", 1)
        .replace(b"</decisionTable>", b"</decisionTabel>", 1)
    )
    problems = [p for p in check(files).problems if p.severity == "error"]
    assert problems and {p.rule for p in problems} <= {"dmn-schema", "missing-decision", "dmn-test"}
    assert any(p.rule == "dmn-schema" and p.file == "dmn/rag_timescales.dmn" and p.line for p in problems)
    files = dict(REAL)
    files["dmn/rag_timescales.dmn"] = REAL["dmn/rag_timescales.dmn"].replace(
        b"<text>rag</text>", b"<text>__import__('os')</text>", 1
    )
    problems = [p for p in check(files).problems if p.severity == "error"]
    assert "decision-table" in {p.rule for p in problems}
    assert all(p.rule in RULES for p in problems)


def test_a_missing_called_decision_is_one_problem_on_its_task():
    files = dict(REAL)
    files["processes/front_door.bpmn"] = REAL["processes/front_door.bpmn"].replace(
        b"<spiffworkflow:calledDecisionId>rag_timescales<", b"<spiffworkflow:calledDecisionId>rag_timescale<", 1
    )
    (problem,) = [p for p in check(files).problems if p.severity == "error"]
    assert problem.rule == "missing-decision" and problem.file == "processes/front_door.bpmn"
    source = files["processes/front_door.bpmn"].decode()
    task_start = source.rindex("<bpmn:businessRuleTask", 0, source.index("rag_timescale<"))
    assert problem.line == source[:task_start].count("\n") + 1 and problem.element


CALL = """
    <bpmn:startEvent id="s" name="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="call" name="Ask" calledElement="CALLED"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="e" name="End"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="e"/>
"""


def test_a_call_to_a_process_no_file_has_is_missing_called_process_with_file_and_line():
    content = bpmn(CALL.replace("CALLED", "nowhere"))
    problem = only_error({P: content})
    assert (problem.rule, problem.file, problem.element, problem.element_name) == (
        "missing-called-process",
        P,
        "call",
        "Ask",
    )
    assert problem.line == line_of(content, 'id="call"') and "'nowhere' does not exist" in problem.message
    with pytest.raises(ModelError) as info:
        build_bundle({P: content}, check_expression=EV.check, engine_factory=FeelDecisionEngine)
    assert (info.value.rule, info.value.filename, info.value.line) == ("missing-called-process", P, problem.line)
    called = bpmn(
        '<bpmn:startEvent id="qs" name="Start"><bpmn:outgoing>q1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:endEvent id="qe" name="End"><bpmn:incoming>q1</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="q1" sourceRef="qs" targetRef="qe"/>'
    ).replace(b'id="p" name="P"', b'id="q" name="Q"')
    result = check({P: bpmn(CALL.replace("CALLED", "q")), "processes/q.bpmn": called})
    assert result.bundle is not None and not [p for p in result.problems if p.severity == "error"]


def test_spiffworkflow_refusals_are_bpmn_parse():
    problem = only_error({P: bpmn(GOOD), "processes/again.bpmn": bpmn(GOOD)})  # read in name order
    assert problem.rule == "bpmn-parse" and problem.file == P
    assert "Duplicate process ID" in problem.message and problem.line


def test_task_rules_name_the_element_and_its_line():
    body = GOOD.replace('<bpmn:task id="t" name="Do">', '<bpmn:scriptTask id="t" name="Do">').replace(
        "</bpmn:task>", "<bpmn:script>x = __import__('os')</bpmn:script></bpmn:scriptTask>"
    )
    problem = only_error({P: bpmn(body)})
    assert (problem.rule, problem.element, problem.line) == ("invalid-expression", "t", line_of(bpmn(body), 'id="t"'))
    assert problem.message.startswith("script:")

    lane = HEAD_LANES.replace("LANE", "nobody")
    (problem,) = [p for p in check({P: lane.encode()}).problems if p.severity == "error"]
    assert problem.rule == "lane-not-role" and problem.element == "t"
    instructions = GOOD.replace(
        '<bpmn:task id="t" name="Do">',
        '<bpmn:task id="t" name="Do"><bpmn:extensionElements>'
        "<spiffworkflow:instructionsForEndUser>{% for x in y %}{% endfor %}"
        "</spiffworkflow:instructionsForEndUser></bpmn:extensionElements>",
    )
    found = {p.rule: p for p in check({P: bpmn(instructions)}).problems}  # a plain task is worked by a person
    assert found.keys() == {"instructions", "no-lane"}
    assert found["instructions"].element == "t" and found["instructions"].line == 7


HEAD_LANES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://example.org">
  <bpmn:process id="p" name="P" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="LANE"><bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane>
      </bpmn:laneSet>
    <bpmn:startEvent id="s" name="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="t" name="Do"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e" name="End"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_gateway_that_joins_and_forks_is_no_gateway_join_fork():
    body = """
    <bpmn:startEvent id="s" name="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:startEvent id="s2" name="Start 2"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="g" name="Again?" default="f5"><bpmn:incoming>f0</bpmn:incoming>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing><bpmn:outgoing>f6</bpmn:outgoing>
      </bpmn:exclusiveGateway>
    <bpmn:endEvent id="e" name="End"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e2" name="End 2"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="s2" targetRef="g"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
    <bpmn:sequenceFlow id="f5" sourceRef="g" targetRef="e"/>
    <bpmn:sequenceFlow id="f6" sourceRef="g" targetRef="e2"><bpmn:conditionExpression>x == 1</bpmn:conditionExpression>
      </bpmn:sequenceFlow>
"""
    problem = only_error({P: bpmn(body)})
    assert (problem.rule, problem.element, problem.line) == ("no-gateway-join-fork", "g", line_of(bpmn(body), 'id="g"'))


def test_every_rule_a_check_reports_is_a_known_rule_id():
    files = dict(REAL)
    examples = json.loads(REAL["dmn/rag_timescales.tests.json"])
    examples[0]["expected"]["outcome_due_in"] = "PT1H"
    files["dmn/rag_timescales.tests.json"] = json.dumps(examples).encode()
    files["processes/p.bpmn"] = bpmn(CALL.replace("CALLED", "nowhere"))
    files["forms/x.json"] = b"{"
    found = check(files).problems
    assert {p.rule for p in found} - set(RULES) == set()
    assert {"dmn-test", "form-json", "fake-join"} <= {p.rule for p in found}


# --------------------------------------------------------------------------- one parse


@pytest.fixture
def counted(monkeypatch):
    """How often each file is parsed (the hardened parser and lxml itself) and schema-checked."""
    calls: dict[str, Counter] = {"parse": Counter(), "fromstring": Counter(), "xsd": Counter()}
    real_parse, real_fromstring = xml.parse_model_xml, etree.fromstring
    real_validate = loader.BpmnValidator.validate

    def parse(content, filename):
        calls["parse"][filename] += 1
        return real_parse(content, filename)

    def fromstring(content, *args, **kwargs):
        calls["fromstring"][len(content)] += 1
        return real_fromstring(content, *args, **kwargs)

    def validate(self, tree, filename=None):
        calls["xsd"][filename] += 1
        return real_validate(self, tree, filename)

    monkeypatch.setattr(loader, "parse_model_xml", parse)
    monkeypatch.setattr(etree, "fromstring", fromstring)
    monkeypatch.setattr(loader.BpmnValidator, "validate", validate)
    return calls


def test_checking_a_model_set_parses_each_file_once_and_builds_the_bundle_from_that_parse(counted):
    result = check(REAL)
    xml_files = sorted(p for p in REAL if p.endswith((".bpmn", ".dmn")))
    assert result.bundle is not None and sorted(result.bundle.process_specs)
    assert counted["parse"] == Counter(dict.fromkeys(xml_files, 1))
    assert sum(counted["fromstring"].values()) == len(xml_files)
    assert counted["xsd"] == Counter(dict.fromkeys(xml_files, 1))  # BPMN and DMN schemas, once each
    assert set(result.bundle.decisions) == {
        "contact_routing",
        "handover_timescales",
        "rag_timescales",
        "triage_outcome",
    }
    assert result.bundle.sources == REAL


def test_building_a_bundle_parses_each_file_once(counted):
    bundle = build_bundle(REAL, check_expression=EV.check, engine_factory=FeelDecisionEngine, known_roles=ROLES)
    xml_files = sorted(p for p in REAL if p.endswith((".bpmn", ".dmn")))
    assert bundle.process_specs and counted["parse"] == Counter(dict.fromkeys(xml_files, 1))
    assert counted["xsd"] == Counter(dict.fromkeys(xml_files, 1))


def test_the_checked_bundle_is_the_one_a_plain_build_makes():
    checked = check(REAL).bundle
    built = build_bundle(REAL, check_expression=EV.check, engine_factory=FeelDecisionEngine, known_roles=ROLES)
    assert checked is not None and checked.bundle_hash == built.bundle_hash
    assert sorted(checked.process_specs) == sorted(built.process_specs)
    assert {pid: sorted(subs) for pid, subs in checked.subprocess_specs.items()} == {
        pid: sorted(subs) for pid, subs in built.subprocess_specs.items()
    }
    for pid in built.process_specs:
        assert checked.start_roles(pid) == built.start_roles(pid)


# --------------------------------------------------------------------------- the wall clock


def test_an_example_stopped_by_the_clock_is_dmn_test_time_limit_not_dmn_test(monkeypatch):
    """A result that depends on how busy the machine was has its own rule (the host does not cache it)."""
    real = evaluator.validation_budget
    monkeypatch.setattr(evaluator, "validation_budget", lambda: real(seconds=-1))  # the clock has already run out
    found = [p for p in check(with_input_expression(SLOW)).problems if p.file == "dmn/contact_routing.tests.json"]
    assert found and {p.rule for p in found} <= {"dmn-test-time-limit", "dmn-test"}
    assert any(p.rule == "dmn-test-time-limit" and "time budget" in p.message for p in found)
    monkeypatch.setattr(evaluator, "validation_budget", real)
    assert not [p for p in check(with_input_expression(SLOW)).problems if p.rule == "dmn-test-time-limit"]
