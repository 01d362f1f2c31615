"""Issue 15: our own models have no lint errors (including bpmnlint's no-gateway-join-fork), and the
fake-join warnings every draft inherits are explained once instead of once per element."""

from __future__ import annotations

from app.engine.errors import Problem
from app.engine.lint import explain_fake_joins
from app.services.modelling import model_checks
from tests.support.engine_models import GOOD, REAL, check, lint


def test_a_gateway_that_joins_and_forks_is_an_error():
    body = """
    <bpmn:startEvent id="s" name="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="split" name="Which?" default="f2"><bpmn:incoming>f1</bpmn:incoming>
      </bpmn:exclusiveGateway>
    <bpmn:task id="a" name="A"/>
    <bpmn:exclusiveGateway id="g" name="Again?" default="f5"/>
    <bpmn:endEvent id="e" name="End"/><bpmn:endEvent id="e2" name="End 2"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="g"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="a"><bpmn:conditionExpression>x</bpmn:conditionExpression>
      </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="g"/>
    <bpmn:sequenceFlow id="f5" sourceRef="g" targetRef="e"/>
    <bpmn:sequenceFlow id="f6" sourceRef="g" targetRef="e2"><bpmn:conditionExpression>y</bpmn:conditionExpression>
      </bpmn:sequenceFlow>
"""
    (problem,) = lint(body)["no-gateway-join-fork"]
    assert problem.element_id == "g" and problem.severity == "error"
    assert "no-gateway-join-fork" not in lint(GOOD)


def test_our_models_have_no_lint_errors_and_no_join_fork_gateway():
    problems = check(REAL)
    assert [p for p in problems if p.severity == "error"] == []
    assert not [p for p in problems if p.rule == "no-gateway-join-fork"]


def test_fake_join_warnings_are_explained_once():
    found = [
        Problem(
            rule="fake-join",
            severity="warning",
            file="processes/a.bpmn",
            element="x",
            line=3,
            message="several flows come in",
            element_name="Do X",
        ),
        Problem(
            rule="invalid-expression", severity="error", file="processes/a.bpmn", element="t", line=4, message="broken"
        ),
        Problem(
            rule="fake-join",
            severity="warning",
            file="processes/b.bpmn",
            element="y",
            line=9,
            message="several flows come in",
        ),
    ]
    out = explain_fake_joins(found)
    joins = [p for p in out if p.rule == "fake-join"]
    assert len(out) == 2 and len(joins) == 1
    assert "2 elements" in joins[0].message and "a.bpmn: Do X" in joins[0].message and "b.bpmn: y" in joins[0].message
    assert "exclusive merge" in joins[0].message and joins[0].severity == "warning"
    assert explain_fake_joins(found[:2]) == found[:2]  # one is left as it is


def test_a_draft_of_our_models_shows_one_explained_warning(ctx):
    problems = model_checks.problems(REAL)
    assert [p for p in problems if p.severity == "error"] == []
    assert [p.rule for p in problems] == ["fake-join"], [str(p) for p in problems]
