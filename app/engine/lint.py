"""Static checks on parsed model files that SpiffWorkflow does not make.

- `lint_bpmn`: a Python port of the bpmnlint "recommended" rules that matter for an executable
  model: label-required, no-disconnected, start-event-required, end-event-required,
  no-implicit-split, conditional-flows, fake-join, no-duplicate-sequence-flows,
  no-gateway-join-fork. Rule names and
  meanings follow bpmnlint so modellers who know bpmn-js recognise them.
- `decision_inputs`: every business rule task calls a decision that exists, and the data each
  input expression reads is provided by something in the process (a form field, a script
  assignment, a service task result, another decision's output, a message variable, a
  multi-instance output, the host's start data) — a reasonable static check, not a proof.
- `run_decision_tests`: `dmn/<decision>.tests.json` = [{"inputs": {...}, "expected": {...}}],
  each example run through the table; a failing example is reported like any other problem.

Everything here reads lxml trees that the hardened parser produced; nothing executes model code
except DMN tests, which run through the caller's restricted evaluator.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lxml import etree

from app.engine import dmn
from app.engine.errors import Problem
from app.engine.evaluator import BudgetExceeded, ValidationBudgetExceeded

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}

FLOW_NODE_TAGS = {
    "task",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "businessRuleTask",
    "sendTask",
    "receiveTask",
    "callActivity",
    "subProcess",
    "transaction",
    "adHocSubProcess",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "eventBasedGateway",
    "complexGateway",
}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess"}

# Severity per rule, as bpmnlint's recommended configuration, except label-required: a missing
# label does not stop a process running, so it is shown but does not refuse a deployment.
SEVERITY = {
    "label-required": "warning",
    "no-disconnected": "error",
    "start-event-required": "error",
    "end-event-required": "error",
    "no-implicit-split": "error",
    "conditional-flows": "error",
    "fake-join": "warning",
    "no-duplicate-sequence-flows": "error",
    "no-gateway-join-fork": "error",
}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(container: etree._Element, tags: set[str] | None = None) -> list[etree._Element]:
    return [
        c
        for c in container
        if isinstance(c.tag, str) and etree.QName(c).namespace == BPMN and (tags is None or _local(c) in tags)
    ]


class _Report:
    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []

    def __call__(self, rule: str, el: etree._Element, message: str) -> None:
        self.problems.append(
            Problem(
                rule=rule,
                severity=SEVERITY[rule],
                file=self.path,
                element=el.get("id"),
                line=el.sourceline,
                message=message,
                element_name=el.get("name") or None,
            )
        )


def lint_bpmn(path: str, tree: etree._ElementTree) -> list[Problem]:
    """bpmnlint's recommended rules (those that matter for execution) over one BPMN file."""
    report = _Report(path)
    root = tree.getroot()
    for participant in root.iter(f"{{{BPMN}}}participant"):
        if not (participant.get("name") or "").strip():
            report("label-required", participant, "the pool has no name: give it one")
    for lane in root.iter(f"{{{BPMN}}}lane"):
        if not (lane.get("name") or "").strip():
            report("label-required", lane, "the lane has no name: name it after the role that works its tasks")
    for process in root.iter(f"{{{BPMN}}}process"):
        _lint_container(process, report)
    return report.problems


def _lint_container(container: etree._Element, report: _Report) -> None:
    kind = _local(container)
    nodes = _children(container, FLOW_NODE_TAGS)
    flows = _children(container, {"sequenceFlow"})
    by_id = {n.get("id"): n for n in nodes}
    incoming: dict[str, list[etree._Element]] = {n.get("id"): [] for n in nodes}
    outgoing: dict[str, list[etree._Element]] = {n.get("id"): [] for n in nodes}
    for flow in flows:
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in outgoing:
            outgoing[source].append(flow)
        if target in incoming:
            incoming[target].append(flow)
    event_sub = container.get("triggeredByEvent") == "true"
    what = "sub-process" if kind != "process" else "process"

    if kind != "adHocSubProcess":
        if not any(_local(n) == "startEvent" for n in nodes):
            report("start-event-required", container, f"the {what} has no start event: add one")
        if not any(_local(n) == "endEvent" for n in nodes):
            report("end-event-required", container, f"the {what} has no end event: add one")
    _lint_duplicate_flows(flows, report)
    for node in nodes:
        node_id = node.get("id")
        _lint_node(node, incoming[node_id], outgoing[node_id], kind, event_sub, report)
        if _local(node) in CONTAINERS:
            _lint_container(node, report)

    for flow in flows:
        for end in ("sourceRef", "targetRef"):
            if flow.get(end) not in by_id:
                report(
                    "no-disconnected", flow, f"the sequence flow's {end[:-3]} {flow.get(end)!r} is not in this {what}"
                )


def _lint_duplicate_flows(flows: list[etree._Element], report: _Report) -> None:
    # no-duplicate-sequence-flows: the same source, target and condition twice
    seen: dict[tuple[str | None, str | None, str | None], etree._Element] = {}
    for flow in flows:
        condition = flow.find(f"{{{BPMN}}}conditionExpression")
        key = (
            flow.get("sourceRef"),
            flow.get("targetRef"),
            (condition.text or "").strip() if condition is not None else None,
        )
        if key in seen:
            report(
                "no-duplicate-sequence-flows",
                flow,
                f"this sequence flow duplicates {seen[key].get('id')} (same source, target and condition): remove one",
            )
        else:
            seen[key] = flow


def _lint_node(
    node: etree._Element,
    ins: list[etree._Element],
    outs: list[etree._Element],
    kind: str,
    event_sub: bool,
    report: _Report,
) -> None:
    """The rules about one flow node and the flows in and out of it."""
    node_id = node.get("id")
    tag = _local(node)
    forking = len(outs) > 1
    default = node.get("default")

    # label-required (bpmnlint: every flow node, except parallel/event-based gateways, joins and boundary events)
    needs_label = not (
        tag in {"parallelGateway", "eventBasedGateway", "boundaryEvent"} or (tag in GATEWAYS and not forking)
    )
    if needs_label and not (node.get("name") or "").strip():
        report("label-required", node, "the element has no label: give it a name people will understand")

    # no-disconnected
    compensation = node.get("isForCompensation") == "true"
    if (
        not ins
        and not outs
        and tag != "boundaryEvent"
        and not compensation
        and not (tag == "subProcess" and node.get("triggeredByEvent") == "true")
        and kind != "adHocSubProcess"
        and not (event_sub and tag in {"startEvent", "endEvent"})
    ):
        report("no-disconnected", node, "the element is not connected to anything: connect it or remove it")
    _lint_splits(node, node_id, tag, outs, forking, default, report)

    # no-gateway-join-fork: one gateway both joining and forking (join first, then fork)
    if tag in GATEWAYS and len(ins) > 1 and len(outs) > 1:
        report(
            "no-gateway-join-fork",
            node,
            "the gateway both joins and splits flows: join them with one gateway, then split with another",
        )

    # fake-join: a non-gateway with several incoming flows
    if tag not in GATEWAYS and len(ins) > 1:
        report("fake-join", node, "several flows come in without a joining gateway: use a gateway to join them")


def _lint_splits(
    node: etree._Element,
    node_id: str | None,
    tag: str,
    outs: list[etree._Element],
    forking: bool,
    default: str | None,
    report: _Report,
) -> None:
    """no-implicit-split and conditional-flows: how the flows out of a node are chosen."""
    # no-implicit-split: a non-gateway with several unconditional outgoing flows
    if tag not in GATEWAYS:
        plain = [f for f in outs if f.find(f"{{{BPMN}}}conditionExpression") is None and f.get("id") != default]
        if len(plain) > 1:
            report(
                "no-implicit-split",
                node,
                "the flow splits here without a gateway: use a parallel or exclusive gateway to split",
            )

    # conditional-flows: every flow out of a forking exclusive/inclusive gateway (or a node with
    # any conditional outgoing flow) needs a condition, unless it is the default flow
    conditional_node = (tag in {"exclusiveGateway", "inclusiveGateway"} and forking) or (
        tag not in GATEWAYS and any(f.find(f"{{{BPMN}}}conditionExpression") is not None for f in outs)
    )
    if conditional_node:
        for flow in outs:
            if flow.find(f"{{{BPMN}}}conditionExpression") is None and flow.get("id") != default:
                report(
                    "conditional-flows",
                    flow,
                    f"the sequence flow from {node.get('name') or node_id} has no condition: add one or make it "
                    "the gateway's default flow",
                )


FAKE_JOIN_EXPLAINED = (
    "{count} element{s} have several flows coming in without a joining gateway ({where}). Each flow that arrives "
    "runs the element once more (an exclusive merge): right where only one of them can arrive in a case, as in "
    "these diagrams. Where two could arrive together, join them with a parallel gateway first"
)


def explain_fake_joins(found: list[Problem]) -> list[Problem]:
    """The fake-join warnings of a whole model set as one warning that explains them (instead of one
    per element, repeated on every draft); the first element is named so editors can point at it."""
    joins = [p for p in found if p.rule == "fake-join"]
    if len(joins) <= 1:
        return found
    by_file: dict[str, list[str]] = {}
    for p in joins:
        by_file.setdefault(p.file, []).append(p.element_name or p.element or "?")
    where = "; ".join(f"{file.rsplit('/', 1)[-1]}: {', '.join(names)}" for file, names in by_file.items())
    first = joins[0]
    message = FAKE_JOIN_EXPLAINED.format(count=len(joins), s="s" if len(joins) != 1 else "", where=where)
    merged = Problem(rule="fake-join", severity="warning", file=first.file, element=None, line=None, message=message)
    out: list[Problem] = []
    for p in found:
        if p.rule != "fake-join":
            out.append(p)
        elif p is first:
            out.append(merged)
    return out


# --------------------------------------------------------------------------- decision inputs

_NOT_DATA = {"true", "false", "null", "None", "True", "False"}


def _read_names(source: str) -> set[str]:
    """Data names an expression reads (free names that are not functions called)."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):  # the evaluator's check reports it
        return set()
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return (
        {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        - called
        - bound
        - _NOT_DATA
    )


def _assigned_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, RecursionError, MemoryError, ValueError):  # the evaluator's check reports it
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _form_fields(schema: Any) -> set[str]:
    fields: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            fields.update((node.get("properties") or {}).keys())
            for key in ("allOf", "anyOf", "oneOf"):
                for sub in node.get(key) or []:
                    walk(sub)
            for key in ("if", "then", "else"):
                if isinstance(node.get(key), dict):
                    walk(node[key])

    walk(schema)
    return fields


def _provided_by(
    process: etree._Element, forms: Mapping[str, Any], decisions: Mapping[str, dmn.DecisionTable]
) -> tuple[set[str], set[str]]:
    """(names the process's own elements provide, ids of processes it calls)."""
    names: set[str] = set()
    called: set[str] = set()
    for el in process.iter():
        if not isinstance(el.tag, str):
            continue
        qname = etree.QName(el)
        if qname.namespace == BPMN and qname.localname == "callActivity" and el.get("calledElement"):
            called.add(el.get("calledElement"))
        else:
            names |= _names_provided(el, qname.namespace, qname.localname, forms, decisions)
    names.discard("")
    return names, called


def _names_provided(
    el: etree._Element,
    namespace: str | None,
    tag: str,
    forms: Mapping[str, Any],
    decisions: Mapping[str, dmn.DecisionTable],
) -> set[str]:
    """The data names one element of a process provides (a script's assignments, a form's fields, ...)."""
    if (namespace == BPMN and tag in {"script"}) or (namespace == SPIFF and tag in {"preScript", "postScript"}):
        return _assigned_names(el.text or "")
    if namespace == SPIFF and tag == "serviceTaskOperator" and el.get("resultVariable"):
        return {el.get("resultVariable")}
    if namespace == SPIFF and tag in {"messageVariable", "variableName"} and el.text:
        return {el.text.strip()}
    if namespace == SPIFF and tag == "property" and el.get("name") in ("formJsonSchemaFilename", "messageForm"):
        return _form_fields(forms.get(el.get("value") or "", {}))
    if namespace == SPIFF and tag == "calledDecisionId" and el.text:
        table = decisions.get(el.text.strip())
        return {o.name for o in table.outputs} if table is not None else set()
    if namespace == BPMN and tag in {"loopDataOutputRef", "outputDataItem", "loopDataInputRef", "inputDataItem"}:
        return {(el.text or el.get("name") or el.get("id") or "").strip()}
    if namespace == BPMN and tag in {"dataObject", "dataObjectReference"}:
        return {el.get("id") or ""}
    return set()


def _related(pid: str, calls: Mapping[str, set[str]], callers: Mapping[str, set[str]]) -> set[str]:
    """The process, its callees and its callers, transitively (call activities share data both ways)."""
    seen: set[str] = set()
    stack = [pid]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(calls.get(current, set()) | callers.get(current, set()))
    return seen


def decision_inputs(
    trees: Mapping[str, etree._ElementTree],
    decisions: Mapping[str, dmn.DecisionTable],
    forms: Mapping[str, Any],
    start_data: Iterable[str],
) -> list[Problem]:
    """Every called decision exists, and every name its input expressions read is provided in the
    process, a process it calls or one that calls it, or by the host's start data."""
    problems: list[Problem] = []
    processes: dict[str, tuple[str, etree._Element]] = {}
    for path, tree in trees.items():
        for process in tree.getroot().iter(f"{{{BPMN}}}process"):
            processes[process.get("id")] = (path, process)
    provided: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for pid, (_, process) in processes.items():
        provided[pid], calls[pid] = _provided_by(process, forms, decisions)
    callers: dict[str, set[str]] = {pid: set() for pid in processes}
    for pid, callees in calls.items():
        for callee in callees:
            callers.setdefault(callee, set()).add(pid)

    start = set(start_data)
    for pid, (path, process) in processes.items():
        available = set(start)
        for other in _related(pid, calls, callers):
            available |= provided.get(other, set())
        for task in process.iter(f"{{{BPMN}}}businessRuleTask"):
            ref = task.find(".//spiffworkflow:calledDecisionId", NS)
            decision_id = (ref.text or "").strip() if ref is not None else (task.get(f"{{{CAMUNDA}}}decisionRef") or "")
            if not decision_id:
                problems.append(
                    Problem(
                        rule="no-called-decision",
                        severity="error",
                        file=path,
                        element=task.get("id"),
                        line=task.sourceline,
                        element_name=task.get("name"),
                        message="the business rule task calls no decision: set its called decision id",
                    )
                )
                continue
            table = decisions.get(decision_id)
            if table is None:
                known = ", ".join(sorted(decisions)) or "none deployed"
                problems.append(
                    Problem(
                        rule="missing-decision",
                        severity="error",
                        file=path,
                        element=task.get("id"),
                        line=task.sourceline,
                        element_name=task.get("name"),
                        message=f"the decision {decision_id!r} does not exist: add "
                        f"dmn/{decision_id}.dmn or correct the id ({known})",
                    )
                )
                continue
            missing = sorted({n for inp in table.inputs for n in _read_names(inp.expression)} - available)
            if missing:
                problems.append(
                    Problem(
                        rule="decision-input-not-provided",
                        severity="error",
                        file=path,
                        element=task.get("id"),
                        line=task.sourceline,
                        element_name=task.get("name"),
                        message=f"the decision {decision_id!r} reads {', '.join(missing)}, but nothing "
                        "before it provides that (no form field, script, service result or decision "
                        "output)",
                    )
                )
    return problems


# --------------------------------------------------------------------------- DMN table tests


def _is_example(example: Any) -> bool:
    return (
        isinstance(example, dict)
        and isinstance(example.get("inputs"), dict)
        and isinstance(example.get("expected"), dict)
    )


def _example_failed(
    path: str, decision_id: str, table: dmn.DecisionTable, label: str, expected: Mapping[str, Any], result: Any
) -> Problem | None:
    """The problem when an example's outputs are not the ones it expects."""
    wrong = {k: v for k, v in expected.items() if result.outputs.get(k, _MISSING) != v}
    if not wrong:
        return None
    got = ", ".join(f"{k} = {json.dumps(result.outputs.get(k))} (expected {json.dumps(v)})" for k, v in wrong.items())
    return Problem(
        rule="dmn-test",
        severity="error",
        file=path,
        element=decision_id,
        line=None,
        element_name=table.decision_name,
        message=f"{label} failed: {got}; rule(s) matched: {', '.join(result.matched_rule_ids)}",
    )


def run_decision_tests(
    path: str,
    content: bytes,
    decisions: Mapping[str, dmn.DecisionTable],
    evaluate: Callable[[str, Mapping[str, Any]], Any],
) -> list[Problem]:
    """Run `dmn/<decision>.tests.json` against its table; one problem per failing example."""
    decision_id = path.rsplit("/", 1)[-1].removesuffix(".tests.json")

    def problem(message: str, line: int | None = None, rule: str = "dmn-test") -> Problem:
        return Problem(rule=rule, severity="error", file=path, element=decision_id, line=line, message=message)

    table = decisions.get(decision_id)
    if table is None:
        return [problem(f"there is no decision {decision_id!r} to test: the file must be named after a decision id")]
    try:
        examples = json.loads(content)
    except (ValueError, UnicodeDecodeError) as err:
        return [problem(f"not valid JSON: {err}", getattr(err, "lineno", None))]
    if not isinstance(examples, list):
        return [problem('the tests must be a list of {"inputs": {...}, "expected": {...}} examples')]
    problems = []
    repeated: dict[str, list[str]] = {}  # the same failure in many examples is reported once
    rule_of: dict[str, str] = {}  # dmn-test, or dmn-test-time-limit when the wall clock stopped it
    for number, example in enumerate(examples, start=1):
        if not _is_example(example):
            problems.append(problem(f'example {number} needs "inputs" and "expected" objects'))
            continue
        label = example.get("name") or f"example {number}"
        try:
            result = dmn.evaluate_decision(table, example["inputs"], evaluate)
        except Exception as err:  # a DecisionError or an expression error, said plainly
            if str(err) in repeated:
                repeated[str(err)].append(label)
                continue
            repeated[str(err)] = []
            rule_of[str(err)] = "dmn-test-time-limit" if _out_of_time(err) else "dmn-test"
            problems.append(problem(f"{label}: the table could not decide: {err}", rule=rule_of[str(err)]))
            if _out_of_budget(err):  # the whole validation's budget is spent: the rest would fail the same way
                problems.append(
                    problem(
                        f"the examples after {label} were not run: the checks ran out of their "
                        'budget (docs/safety.md, "Limits")'
                    )
                )
                break
            continue
        failed = _example_failed(path, decision_id, table, label, example["expected"], result)
        if failed is not None:
            problems.append(failed)
    problems.extend(
        problem(
            f"{len(labels)} more example(s) could not decide for the same reason "
            f"({', '.join(labels[:5])}{', ...' if len(labels) > 5 else ''}): {message}",
            rule=rule_of[message],
        )
        for message, labels in repeated.items()
        if labels
    )
    return problems


_MISSING = object()


def _out_of_budget(err: BaseException | None) -> bool:
    """Whether the error (or what caused it) is the whole validation's budget running out."""
    return any(isinstance(e, ValidationBudgetExceeded) for e in _causes(err))


def _out_of_time(err: BaseException | None) -> bool:
    """Whether the error (or what caused it) is an evaluation stopped by the wall clock (its own limit or the
    validation's): a result that depends on how busy the machine was, so it is not remembered."""
    return any(isinstance(e, BudgetExceeded) and e.wall_clock for e in _causes(err))


def _causes(err: BaseException | None) -> list[BaseException]:
    found: list[BaseException] = []
    while err is not None and len(found) < 10:
        found.append(err)
        err = err.__cause__ or err.__context__
    return found
