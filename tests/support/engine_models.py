"""Building model sets for the engine's check tests: the real models, a one-process BPMN from a body,
and the host's check as every deploy path runs it (shared by tests/engine/test_lint*.py and friends)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from app.engine.calendar import MashCalendar
from app.engine.evaluator import RestrictedEvaluator
from app.engine.functions import build_functions
from app.engine.lint import lint_bpmn
from app.engine.loader import check_model_set
from app.engine.runtime import FeelDecisionEngine
from app.engine.xml import parse_model_xml
from app.services.core.roles import ROLES
from app.services.modelling.deployments import read_model_dir
from app.services.modelling.model_checks import HOST_START_DATA

ROOT = Path(__file__).resolve().parents[2]
EV = RestrictedEvaluator(build_functions(lambda: datetime(2026, 11, 25, 10, tzinfo=UTC), MashCalendar()))
REAL = read_model_dir(ROOT)

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://example.org">
  <bpmn:process id="p" name="P" isExecutable="true">
BODY
  </bpmn:process>
</bpmn:definitions>
"""


def bpmn(body: str) -> bytes:
    return HEAD.replace("BODY", body).encode()


def check(files) -> list:
    _, problems = check_model_set(
        files,
        check_expression=EV.check,
        engine_factory=FeelDecisionEngine,
        evaluate=EV.evaluate,
        known_roles=ROLES,
        start_data=HOST_START_DATA,
    )
    return problems


def errors(files) -> list:
    return [p for p in check(files) if p.severity == "error"]


def lint(body: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for p in lint_bpmn("processes/p.bpmn", parse_model_xml(bpmn(body), "processes/p.bpmn")):
        found.setdefault(p.rule, []).append(p)
    return found


GOOD = """
    <bpmn:startEvent id="s" name="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:task id="t" name="Do"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:task>
    <bpmn:endEvent id="e" name="End"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
"""


def with_input_expression(expression: str) -> dict:
    """The real models with contact_routing's first input expression replaced (XML-escaped)."""
    files = dict(REAL)
    text = expression.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    files["dmn/contact_routing.dmn"] = REAL["dmn/contact_routing.dmn"].replace(
        b"<text>request_type</text>", f"<text>{text}</text>".encode(), 1
    )
    return files
