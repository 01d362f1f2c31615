"""Model checks beyond SpiffWorkflow's: the bpmnlint rules, decision inputs, DMN table tests, and
every refused model collected with its file, element, line and plain message."""

from __future__ import annotations

import json

import pytest

from tests.support.engine_models import GOOD, REAL, bpmn, check, errors, lint
from tests.support.escape_corpus import STATIC_EXPRESSIONS


def test_the_deployed_models_have_no_errors_only_fake_join_warnings():
    problems = check(REAL)
    assert [p for p in problems if p.severity == "error"] == []
    assert {p.rule for p in problems} <= {"fake-join"}


def test_a_clean_process_has_no_lint_problems():
    assert lint(GOOD) == {}


def test_label_required_is_a_warning_naming_the_element():
    (problem,) = lint(GOOD.replace('name="Do"', ""))["label-required"]
    assert problem.element_id == "t" and problem.severity == "warning" and problem.line == 7


def test_start_and_end_events_are_required():
    found = lint('<bpmn:task id="t" name="Alone"/>')
    assert "start-event-required" in found and "end-event-required" in found
    assert found["start-event-required"][0].element_id == "p"


def test_no_disconnected():
    (problem,) = lint(GOOD + '<bpmn:task id="lost" name="Lost"/>')["no-disconnected"]
    assert problem.element_id == "lost" and "not connected" in problem.message


def test_no_implicit_split_and_conditional_flows():
    body = (
        GOOD.replace(
            "<bpmn:outgoing>f2</bpmn:outgoing></bpmn:task>",
            "<bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:task>",
        )
        + '<bpmn:endEvent id="e2" name="Other end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f3" sourceRef="t" targetRef="e2"/>'
    )
    assert lint(body)["no-implicit-split"][0].element_id == "t"
    gateway = """
    <bpmn:startEvent id="s" name="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="g" name="Which way?" default="f2"><bpmn:incoming>f1</bpmn:incoming>
      </bpmn:exclusiveGateway>
    <bpmn:endEvent id="e1" name="A"/><bpmn:endEvent id="e2" name="B"/><bpmn:endEvent id="e3" name="C"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
    <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e1"/>
    <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="e2"><bpmn:conditionExpression>x == 1</bpmn:conditionExpression>
      </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="g" targetRef="e3"/>
"""
    (problem,) = lint(gateway)["conditional-flows"]
    assert problem.element_id == "f4" and "no condition" in problem.message


def test_fake_join_is_a_warning_and_duplicate_flows_an_error():
    body = GOOD + '<bpmn:sequenceFlow id="f2b" sourceRef="t" targetRef="e"/>'
    found = lint(body)
    assert found["no-duplicate-sequence-flows"][0].element_id == "f2b"
    assert found["fake-join"][0].element_id == "e" and found["fake-join"][0].severity == "warning"


def test_a_called_decision_must_exist_and_its_inputs_be_provided():
    files = dict(REAL)
    files["processes/front_door.bpmn"] = REAL["processes/front_door.bpmn"].replace(
        b"<spiffworkflow:calledDecisionId>rag_timescales<", b"<spiffworkflow:calledDecisionId>rag_timescale<", 1
    )
    problems = [p for p in errors(files) if p.rule == "missing-decision"]
    assert len(problems) == 1 and "the decision 'rag_timescale' does not exist" in problems[0].message
    assert problems[0].file == "processes/front_door.bpmn" and problems[0].element_id

    files = dict(REAL)
    files["dmn/rag_timescales.dmn"] = REAL["dmn/rag_timescales.dmn"].replace(
        b"<text>rag</text>", b"<text>rag_level</text>"
    )
    problems = [p for p in errors(files) if p.rule == "decision-input-not-provided"]
    assert problems and "reads rag_level, but nothing before it provides that" in problems[0].message


def test_dmn_table_tests_run_and_report_the_failing_example():
    files = dict(REAL)
    examples = json.loads(REAL["dmn/rag_timescales.tests.json"])
    examples[0]["expected"]["outcome_due_in"] = "PT1H"
    files["dmn/rag_timescales.tests.json"] = json.dumps(examples).encode()
    (problem,) = errors(files)
    assert problem.rule == "dmn-test" and problem.element_id == "rag_timescales"
    assert 'RED failed: outcome_due_in = "PT4H" (expected "PT1H")' in problem.message


@pytest.mark.parametrize("expression", STATIC_EXPRESSIONS)
def test_escape_corpus_expressions_are_refused_in_a_gateway_condition(expression):
    body = f"""
    <bpmn:startEvent id="s" name="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="g" name="Which way?" default="f2"><bpmn:incoming>f1</bpmn:incoming>
      </bpmn:exclusiveGateway>
    <bpmn:endEvent id="e1" name="A"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e2" name="B"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
    <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e1"/>
    <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="e2">
      <bpmn:conditionExpression><![CDATA[{expression}]]></bpmn:conditionExpression></bpmn:sequenceFlow>
"""
    (problem,) = errors({"processes/p.bpmn": bpmn(body)})
    assert problem.file == "processes/p.bpmn" and problem.element_id == "g"
    assert problem.message.startswith("gateway condition:") and problem.line


def test_every_problem_is_reported_at_once():
    body = GOOD.replace(
        '<bpmn:task id="t" name="Do">',
        '<bpmn:userTask id="t" name="Do"><bpmn:extensionElements>'
        '<spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" '
        'value="nope.schema.json"/></spiffworkflow:properties></bpmn:extensionElements>',
    ).replace("</bpmn:task>", "</bpmn:userTask>")
    found = errors({"processes/p.bpmn": bpmn(body)})
    assert len(found) == 2 and all(p.element_id == "t" and p.element_name == "Do" for p in found)
    assert {p.rule for p in found} == {"missing-form", "no-lane"}
    assert any("forms/nope.schema.json" in p.message for p in found)
    assert any("in no lane" in p.message for p in found)


def test_xsd_errors_point_at_the_element_on_their_line():
    body = GOOD.replace(
        '<bpmn:task id="t" name="Do"><bpmn:incoming>f1</bpmn:incoming>',
        '<bpmn:task id="t" name="Do"><bpmn:incoming>f1</bpmn:incoming><bpmn:documentation>late</bpmn:documentation>',
    )
    (problem,) = errors({"processes/p.bpmn": bpmn(body)})
    assert (
        problem.rule == "bpmn-schema"
        and problem.line == 7
        and problem.element_id == "t"
        and problem.element_name == "Do"
    )
    assert "not valid BPMN" in problem.message
