"""DMN decision tables (DMN 1.1–1.3, one decision per file): parse, check at deploy, evaluate.

Why our own: SpiffWorkflow 3.2 reads cells as Python, silently misses FEEL lists and `not(...)`,
ignores UNIQUE/ANY/RULE ORDER/aggregation and returns nothing when no rule matches
(reference/spiffworkflow-3.2.md §3). Triage and RAG decisions must never fall through quietly,
so this module:

- compiles every input entry once as FEEL simple unary tests (`app.engine.feel`);
- treats output entries as FEEL literals, or else as expressions for the host's restricted
  evaluator, which is passed in as a callable (no `eval`, no hard import of the evaluator);
- applies the hit policy strictly and raises `DecisionError` (naming the decision, rule ids,
  line numbers and input values) for a missing input, no match, a UNIQUE overlap or an ANY
  disagreement, instead of returning a default.

The caller parses the XML with its hardened parser and hands over the lxml root.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from app.engine.feel import FeelSyntaxError, compile_unary_tests, feel_repr, parse_literal

__all__ = [
    "DMN_NAMESPACES",
    "DecisionError",
    "DecisionResult",
    "DecisionTable",
    "DmnInput",
    "DmnOutput",
    "DmnRule",
    "OutputCell",
    "check_decision",
    "evaluate_decision",
    "parse_decision",
]

DMN_NAMESPACES = (
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",  # DMN 1.1
    "http://www.omg.org/spec/DMN/20180521/MODEL/",  # DMN 1.2
    "https://www.omg.org/spec/DMN/20191111/MODEL/",  # DMN 1.3
)
HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "RULE ORDER", "COLLECT")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
# Expressions in a table may use FEEL's constants as well as task data (`urgent or false`).
FEEL_CONSTANTS: Mapping[str, Any] = {"true": True, "false": False, "null": None}
_OTHER_EXPRESSIONS = ("literalExpression", "context", "invocation", "relation", "list", "functionDefinition")

Predicate = Callable[[Any], bool]
Evaluate = Callable[[str, Mapping[str, Any]], Any]


class DecisionError(Exception):
    """A decision cannot be parsed, checked or evaluated; the message is meant for people.

    `problems` lists every individual problem (deploy checks report them all at once).
    """

    def __init__(
        self,
        message: str,
        *,
        decision_id: str | None = None,
        rule_id: str | None = None,
        line: int | None = None,
        problems: Sequence[str] = (),
    ) -> None:
        self.decision_id = decision_id
        self.rule_id = rule_id
        self.line = line
        self.message = message
        self.problems = list(problems) or [message]
        super().__init__(f"decision '{decision_id}': {message}" if decision_id else message)


@dataclass(frozen=True)
class DmnInput:
    id: str | None
    label: str | None
    expression: str
    type_ref: str | None
    allowed_values: str | None = None  # `inputValues` text, e.g. `"s17","s47"`
    allowed: Predicate | None = field(default=None, compare=False, repr=False)
    line: int | None = None

    @property
    def name(self) -> str:
        """The key used in results and messages: the expression (a data name, per convention)."""
        return self.expression.strip()


@dataclass(frozen=True)
class DmnOutput:
    id: str | None
    name: str
    label: str | None
    type_ref: str | None
    allowed_values: str | None = None
    allowed: Predicate | None = field(default=None, compare=False, repr=False)
    line: int | None = None


@dataclass(frozen=True)
class OutputCell:
    """An output entry: a FEEL literal (`value`) or an expression for the evaluator."""

    text: str
    is_literal: bool
    value: Any
    line: int | None


@dataclass(frozen=True)
class DmnRule:
    id: str
    description: str | None
    input_entries: tuple[str, ...]
    output_entries: tuple[str, ...]
    tests: tuple[Predicate, ...] = field(compare=False, repr=False)
    number: int = 0  # 1-based position in the table
    line: int | None = None
    input_lines: tuple[int | None, ...] = field(default=(), compare=False, repr=False)
    outputs: tuple[OutputCell, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class DecisionTable:
    decision_id: str
    decision_name: str | None
    table_id: str | None
    hit_policy: str
    aggregation: str | None
    inputs: tuple[DmnInput, ...]
    outputs: tuple[DmnOutput, ...]
    rules: tuple[DmnRule, ...]
    namespace: str = DMN_NAMESPACES[-1]


@dataclass
class DecisionResult:
    decision_id: str
    table_id: str | None
    hit_policy: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    matched_rule_ids: list[str]
    matched_rule_numbers: list[int]
    aggregation: str | None = None


# --------------------------------------------------------------------------- parsing


def _where(line: int | None) -> str:
    return f" (line {line})" if line else ""


def _text_of(el: etree._Element | None, ns: str) -> str:
    if el is None:
        return ""
    text_el = el.find(f"{{{ns}}}text")
    return (text_el.text or "") if text_el is not None else ""


def _optional_tests(
    el: etree._Element | None, ns: str, what: str, decision_id: str
) -> tuple[str | None, Predicate | None]:
    """`inputValues`/`outputValues`: the allowed values of a column, if the modeller listed them."""
    text = _text_of(el, ns).strip()
    if el is None or not text or text == "-":
        return None, None
    try:
        return text, compile_unary_tests(text)
    except FeelSyntaxError as exc:
        message = f"allowed values of {what}{_where(el.sourceline)}: {exc}"
        raise DecisionError(message, decision_id=decision_id, line=el.sourceline) from exc


def _parse_output_cell(text: str, line: int | None) -> OutputCell:
    stripped = text.strip()
    if not stripped:
        return OutputCell(text, True, None, line)
    try:
        return OutputCell(text, True, parse_literal(stripped), line)
    except FeelSyntaxError:
        return OutputCell(text, False, None, line)


def _hit_policy(table_el: etree._Element, fail: Callable[..., DecisionError]) -> tuple[str, str | None]:
    """The table's hit policy and aggregation, refused unless we evaluate them."""
    hit_policy = table_el.get("hitPolicy", "UNIQUE")
    if hit_policy not in HIT_POLICIES:
        supported = ", ".join(HIT_POLICIES)
        raise fail(f"hit policy {hit_policy!r} is not supported (use one of {supported})", table_el.sourceline)
    aggregation = table_el.get("aggregation")
    if aggregation is not None:
        if aggregation not in AGGREGATIONS:
            supported = ", ".join(AGGREGATIONS)
            raise fail(f"aggregation {aggregation!r} is not supported (use one of {supported})", table_el.sourceline)
        if hit_policy != "COLLECT":
            raise fail(f"aggregation {aggregation} needs hit policy COLLECT, not {hit_policy}", table_el.sourceline)
    return hit_policy, aggregation


def _parse_inputs(
    table_el: etree._Element, ns: str, decision_id: str, fail: Callable[..., DecisionError]
) -> list[DmnInput]:
    inputs = []
    for n, el in enumerate(table_el.findall(f"{{{ns}}}input"), start=1):
        expr_el = el.find(f"{{{ns}}}inputExpression")
        expression = _text_of(expr_el, ns).strip()
        label = el.get("label")
        if not expression:
            raise fail(f"input {n} ({label or el.get('id') or 'unnamed'}) has no input expression", el.sourceline)
        allowed_text, allowed = _optional_tests(
            el.find(f"{{{ns}}}inputValues"), ns, f"input '{expression}'", decision_id
        )
        type_ref = (expr_el.get("typeRef") if expr_el is not None else None) or el.get("typeRef")
        inputs.append(DmnInput(el.get("id"), label, expression, type_ref, allowed_text, allowed, el.sourceline))
    return inputs


def _parse_outputs(
    table_el: etree._Element, ns: str, decision_id: str, fail: Callable[..., DecisionError]
) -> list[DmnOutput]:
    outputs: list[DmnOutput] = []
    output_els = table_el.findall(f"{{{ns}}}output")
    for n, el in enumerate(output_els, start=1):
        # DMN: a table's only output may be unnamed, and then carries the decision's name.
        name = el.get("name") or el.get("label") or (decision_id if len(output_els) == 1 else "")
        if not name:
            raise fail(f"output {n} has no name; outputs land in task data under their name", el.sourceline)
        if any(o.name == name for o in outputs):
            raise fail(f"two outputs are named {name!r}", el.sourceline)
        allowed_text, allowed = _optional_tests(el.find(f"{{{ns}}}outputValues"), ns, f"output '{name}'", decision_id)
        outputs.append(
            DmnOutput(el.get("id"), name, el.get("label"), el.get("typeRef"), allowed_text, allowed, el.sourceline)
        )
    if not outputs:
        raise fail("the decision table has no outputs", table_el.sourceline)
    return outputs


def parse_decision(root: etree._Element | etree._ElementTree) -> DecisionTable:
    """Read the single decision table of a DMN file; refuse anything we would evaluate wrongly."""
    if isinstance(root, etree._ElementTree):
        root = root.getroot()
    qname = etree.QName(root)
    if qname.localname != "definitions" or qname.namespace not in DMN_NAMESPACES:
        raise DecisionError(f"not a DMN 1.1/1.2/1.3 file: the root element is <{root.tag}>")
    ns = qname.namespace

    def q(tag: str) -> str:
        return f"{{{ns}}}{tag}"

    decisions = root.findall(q("decision"))
    if len(decisions) != 1:
        raise DecisionError(f"a DMN file must hold exactly one decision; this one holds {len(decisions)}")
    decision = decisions[0]
    decision_id = decision.get("id") or ""
    if not decision_id:
        raise DecisionError(f"the decision{_where(decision.sourceline)} has no id")

    def fail(message: str, line: int | None = None, rule_id: str | None = None) -> DecisionError:
        return DecisionError(f"{message}{_where(line)}", decision_id=decision_id, rule_id=rule_id, line=line)

    tables = decision.findall(q("decisionTable"))
    others = [etree.QName(el).localname for tag in _OTHER_EXPRESSIONS for el in decision.findall(q(tag))]
    if others:
        raise fail(f"only decision tables are supported, not <{others[0]}>", decision.sourceline)
    if len(tables) != 1:
        raise fail(f"a decision must hold exactly one decisionTable; found {len(tables)}", decision.sourceline)
    table_el = tables[0]

    hit_policy, aggregation = _hit_policy(table_el, fail)
    inputs = _parse_inputs(table_el, ns, decision_id, fail)
    outputs = _parse_outputs(table_el, ns, decision_id, fail)
    if aggregation and len(outputs) > 1:
        raise fail(f"aggregation {aggregation} needs a table with exactly one output", table_el.sourceline)

    rules = []
    for number, el in enumerate(table_el.findall(q("rule")), start=1):
        rules.append(_parse_rule(el, number, ns, inputs, outputs, fail))

    return DecisionTable(
        decision_id=decision_id,
        decision_name=decision.get("name"),
        table_id=table_el.get("id"),
        hit_policy=hit_policy,
        aggregation=aggregation,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        rules=tuple(rules),
        namespace=ns,
    )


def _parse_rule(
    el: etree._Element,
    number: int,
    ns: str,
    inputs: Sequence[DmnInput],
    outputs: Sequence[DmnOutput],
    fail: Callable[..., DecisionError],
) -> DmnRule:
    rule_id = el.get("id") or f"rule {number}"
    desc_el = el.find(f"{{{ns}}}description")
    description = desc_el.text.strip() if desc_el is not None and desc_el.text else None
    in_els = el.findall(f"{{{ns}}}inputEntry")
    out_els = el.findall(f"{{{ns}}}outputEntry")
    if len(in_els) != len(inputs):
        problem = f"has {len(in_els)} input entries but the table has {len(inputs)} inputs"
        raise fail(f"rule '{rule_id}' {problem}", el.sourceline, rule_id)
    if len(out_els) != len(outputs):
        problem = f"has {len(out_els)} output entries but the table has {len(outputs)} outputs"
        raise fail(f"rule '{rule_id}' {problem}", el.sourceline, rule_id)

    tests = []
    for inp, cell in zip(inputs, in_els, strict=False):
        try:
            tests.append(compile_unary_tests(_text_of(cell, ns)))
        except FeelSyntaxError as exc:
            raise fail(f"rule '{rule_id}', input '{inp.name}': {exc}", cell.sourceline, rule_id) from exc

    cells = []
    for out, cell in zip(outputs, out_els, strict=False):
        parsed = _parse_output_cell(_text_of(cell, ns), cell.sourceline)
        if parsed.is_literal:
            value_problem = _value_problem(parsed.value, out.type_ref, out.allowed, out.allowed_values)
            if value_problem:
                raise fail(f"rule '{rule_id}', output '{out.name}': {value_problem}", cell.sourceline, rule_id)
        cells.append(parsed)

    return DmnRule(
        id=rule_id,
        description=description,
        input_entries=tuple(_text_of(c, ns) for c in in_els),
        output_entries=tuple(c.text for c in cells),
        tests=tuple(tests),
        number=number,
        line=el.sourceline,
        input_lines=tuple(c.sourceline for c in in_els),
        outputs=tuple(cells),
    )


_TYPE_CHECKS: Mapping[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def _value_problem(value: Any, type_ref: str | None, allowed: Predicate | None, allowed_text: str | None) -> str | None:
    """Null is always allowed (a missing duration); otherwise the typeRef and listed values hold."""
    if value is None:
        return None
    check = _TYPE_CHECKS.get(type_ref or "")
    if check is not None and not check(value):
        return f"{feel_repr(value)} is not a {type_ref}"
    if allowed is not None and not allowed(value):
        return f"{feel_repr(value)} is not one of the allowed values {allowed_text}"
    return None


# --------------------------------------------------------------------------- deploy-time check


def check_decision(table: DecisionTable, check_expression: Callable[[str], None]) -> None:
    """Check every cell before a table is deployed, reporting all problems at once.

    Input entries are (re)compiled as FEEL; input expressions and non-literal output entries go
    through the evaluator's static check (which raises on refused syntax or names).
    """
    problems: list[str] = []
    lines: list[int | None] = []
    for inp in table.inputs:
        try:
            check_expression(inp.expression)
        except Exception as exc:  # the evaluator's own error type is not imported on purpose
            problems.append(f"input '{inp.name}'{_where(inp.line)}: {exc}")
            lines.append(inp.line)
    for rule in table.rules:
        for inp, text, line in zip(table.inputs, rule.input_entries, rule.input_lines, strict=False):
            try:
                compile_unary_tests(text)
            except FeelSyntaxError as exc:
                problems.append(f"rule '{rule.id}', input '{inp.name}'{_where(line)}: {exc}")
                lines.append(line)
        for out, cell in zip(table.outputs, rule.outputs, strict=False):
            if cell.is_literal:
                continue
            try:
                check_expression(cell.text.strip())
            except Exception as exc:
                problems.append(f"rule '{rule.id}', output '{out.name}'{_where(cell.line)}: {exc}")
                lines.append(cell.line)
    if problems:
        summary = f"{len(problems)} problem(s): " + "; ".join(problems)
        raise DecisionError(summary, decision_id=table.decision_id, line=lines[0], problems=problems)


# --------------------------------------------------------------------------- evaluation


def _describe(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {feel_repr(v)}" for k, v in values.items()) or "no inputs"


def _input_value(
    table: DecisionTable, inp: DmnInput, data: Mapping[str, Any], names: Mapping[str, Any], evaluate: Evaluate
) -> Any:
    # Checked here, not left to the evaluator, so the message names the input plainly.
    if inp.name.isidentifier() and inp.name not in data:
        raise DecisionError(f"required input '{inp.name}' is missing", decision_id=table.decision_id)
    try:
        value = evaluate(inp.expression, names)
    except Exception as exc:  # ExpressionError from the evaluator, or anything it lets through
        message = f"input '{inp.name}' could not be worked out: {exc}"
        raise DecisionError(message, decision_id=table.decision_id) from exc
    problem = _value_problem(value, inp.type_ref, inp.allowed, inp.allowed_values)
    if problem:
        raise DecisionError(f"input '{inp.name}': {problem}", decision_id=table.decision_id)
    return value


def _rule_outputs(table: DecisionTable, rule: DmnRule, names: Mapping[str, Any], evaluate: Evaluate) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for out, cell in zip(table.outputs, rule.outputs, strict=False):
        if cell.is_literal:
            result[out.name] = cell.value
            continue
        try:
            value = evaluate(cell.text.strip(), names)
        except Exception as exc:
            raise DecisionError(
                f"rule '{rule.id}', output '{out.name}'{_where(cell.line)}: {exc}",
                decision_id=table.decision_id,
                rule_id=rule.id,
                line=cell.line,
            ) from exc
        problem = _value_problem(value, out.type_ref, out.allowed, out.allowed_values)
        if problem:
            raise DecisionError(
                f"rule '{rule.id}', output '{out.name}'{_where(cell.line)}: {problem}",
                decision_id=table.decision_id,
                rule_id=rule.id,
                line=cell.line,
            )
        result[out.name] = value
    return result


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps `true` and `1` apart, as FEEL does."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _aggregate(table: DecisionTable, aggregation: str, values: list[Any]) -> Any:
    if aggregation == "COUNT":
        return len(values)
    if not values:
        return None
    shown = ", ".join(map(feel_repr, values))
    if aggregation == "SUM":
        if not all(_TYPE_CHECKS["number"](v) for v in values):
            raise DecisionError(f"COLLECT SUM needs numbers, got {shown}", decision_id=table.decision_id)
        return sum(values)
    kinds = {"number" if _TYPE_CHECKS["number"](v) else type(v).__name__ for v in values}
    if len(kinds) != 1 or kinds - {"number", "str"}:
        message = f"COLLECT {aggregation} needs all numbers or all text, got {shown}"
        raise DecisionError(message, decision_id=table.decision_id)
    return min(values) if aggregation == "MIN" else max(values)


def evaluate_decision(table: DecisionTable, data: Mapping[str, Any], evaluate: Evaluate) -> DecisionResult:
    """Evaluate the table against task data; every failure is a DecisionError, never a default."""
    names = {**dict(data), **FEEL_CONSTANTS}
    values = [_input_value(table, inp, data, names, evaluate) for inp in table.inputs]
    inputs = {inp.name: v for inp, v in zip(table.inputs, values, strict=False)}
    matched = [r for r in table.rules if all(test(v) for test, v in zip(r.tests, values, strict=False))]
    policy = table.hit_policy
    ids = [r.id for r in matched]

    if policy in ("UNIQUE", "FIRST", "ANY") and not matched:
        raise DecisionError(
            f"no rule matched ({_describe(inputs)}); hit policy {policy} needs one rule to match, "
            "so check the answers given or ask for the table to cover this case",
            decision_id=table.decision_id,
        )
    if policy == "UNIQUE" and len(matched) > 1:
        raise DecisionError(
            f"rules {', '.join(ids)} all matched ({_describe(inputs)}) but hit policy UNIQUE allows only one",
            decision_id=table.decision_id,
        )
    if policy == "FIRST":
        matched = matched[:1]

    per_rule = [_rule_outputs(table, r, names, evaluate) for r in matched]
    if policy == "ANY":
        for rule, outs in zip(matched[1:], per_rule[1:], strict=False):
            for key, value in outs.items():
                if not _same(value, per_rule[0][key]):
                    raise DecisionError(
                        f"rules {matched[0].id} and {rule.id} both matched but give different values for "
                        f"'{key}' ({feel_repr(per_rule[0][key])} and {feel_repr(value)}); "
                        "hit policy ANY needs them to agree",
                        decision_id=table.decision_id,
                    )

    outputs: dict[str, Any]
    if policy in ("UNIQUE", "FIRST", "ANY"):
        outputs = dict(per_rule[0])
    elif table.aggregation:
        out = table.outputs[0].name
        outputs = {out: _aggregate(table, table.aggregation, [o[out] for o in per_rule])}
    else:
        outputs = {o.name: [r[o.name] for r in per_rule] for o in table.outputs}

    return DecisionResult(
        decision_id=table.decision_id,
        table_id=table.table_id,
        hit_policy=policy,
        inputs=inputs,
        outputs=outputs,
        matched_rule_ids=[r.id for r in matched],
        matched_rule_numbers=[r.number for r in matched],
        aggregation=table.aggregation,
    )
