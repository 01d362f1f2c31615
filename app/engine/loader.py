"""Turn a set of model files into an executable, validated bundle — or structured problems.

One pass: every file is parsed once (app.engine.xml, the one hardened parser) and checked against
its schema (BPMN/DMN XSD, JSON Schema); the checks read those parsed trees (bpmnlint's rules,
decision inputs, task instructions, DMN table tests); SpiffWorkflow then builds its specs from the
same trees, and every expression and script is statically checked by the restricted evaluator,
every user task's form must be present and every lane a known role. The parsed specs are cached by
the host per version, so requests never re-parse XML.

Two ways in: `check_model_set` collects every problem (a modeller sees them all; a deployment is
refused by any error) and builds the bundle from its own parse; `build_bundle` raises the first
error as a ModelError (a version already checked, loaded by a worker).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any, NamedTuple

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from app.engine import dmn, evaluator, instructions, lint
from app.engine.errors import ModelError, Problem, sorted_problems
from app.engine.evaluator import ExpressionError, Mode
from app.engine.feel import FeelSyntaxError
from app.engine.xml import MAX_MODEL_BYTES, parse_model_xml

ISO_TIMER_LITERAL = re.compile(
    r"^(R\d*/)?(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
    r"|\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2}))$"
)
USER_TASK_EXPRESSION_PROPERTIES = (
    "dueAt",
    "team",
    "agency",
    "withdrawWhen",
    "withdrawWith",
    "assignTo",
    "tagWhen",
    "title",
    "overdueReview",
)
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"

# The evaluator's static check `(source, mode)`, which raises ExpressionError.
CheckExpression = Callable[[str, Mode], None]
# What stands where SpiffWorkflow expects a DMN engine, for one of our decision tables.
EngineFactory = Callable[["dmn.DecisionTable"], Any]
Evaluate = Callable[[str, Mapping[str, Any]], Any]
Report = Callable[[Problem], None]
Specs = tuple[dict[str, Any], dict[str, dict[str, Any]]]


@dataclass
class Bundle:
    """Everything one deployed version needs at run time."""

    bundle_hash: str
    process_specs: dict[str, Any]
    subprocess_specs: dict[str, dict[str, Any]]
    decisions: dict[str, dmn.DecisionTable]
    forms: dict[str, dict[str, Any]]
    sources: dict[str, bytes] = field(repr=False, default_factory=dict)

    def form(self, name: str | None) -> dict[str, Any] | None:
        return self.forms.get(name) if name else None

    def task_extensions(self, bpmn_id: str) -> dict[str, Any]:
        """A task's spiffworkflow extensions (properties, instructions), wherever it is deployed."""
        for spec in self._all_specs():
            for task_spec in spec.task_specs.values():
                # a multi-instance activity's wrapper has the id but no extensions; its instances carry them
                if getattr(task_spec, "bpmn_id", None) == bpmn_id and getattr(task_spec, "extensions", None):
                    return dict(task_spec.extensions)
        return {}

    def task_properties(self, bpmn_id: str) -> dict[str, str]:
        return dict(self.task_extensions(bpmn_id).get("properties", {}) or {})

    def task_documentation(self, bpmn_id: str) -> str | None:
        """The task's BPMN documentation (shown on a user task that has no form)."""
        for spec in self._all_specs():
            for task_spec in spec.task_specs.values():
                if getattr(task_spec, "bpmn_id", None) == bpmn_id and getattr(task_spec, "documentation", None):
                    return str(task_spec.documentation)
        return None

    def process_name(self, process_id: str) -> str:
        spec = self.process_specs.get(process_id)
        return str(getattr(spec, "description", None) or process_id) if spec is not None else process_id

    def called_process_ids(self) -> set[str]:
        """Processes that run inside another one (call activities), never started on their own."""
        called: set[str] = set()
        for owner, subs in self.subprocess_specs.items():
            called |= {pid for pid in subs if pid != owner and pid in self.process_specs}
        return called

    def start_roles(self, process_id: str) -> set[str]:
        """The roles of the first user task(s) reachable from the process's start: who may start it."""
        spec = self.process_specs.get(process_id)
        if spec is None:
            return set()
        roles: set[str] = set()
        seen: set[str] = set()
        queue: list[Any] = [spec.start]
        while queue:
            task_spec = queue.pop(0)
            if task_spec.name in seen:
                continue
            seen.add(task_spec.name)
            if getattr(task_spec, "manual", False):
                if task_spec.lane:
                    roles.add(task_spec.lane)
                continue
            queue.extend(task_spec.outputs)
        return roles

    def has_task_property(self, name: str) -> bool:
        """Whether any task of any deployed process declares the spiffworkflow property `name`."""
        return any(
            name in ((getattr(t, "extensions", None) or {}).get("properties") or {})
            for spec in self._all_specs()
            for t in spec.task_specs.values()
        )

    def _all_specs(self) -> list[Any]:
        specs = [*self.process_specs.values(), *(s for subs in self.subprocess_specs.values() for s in subs.values())]
        return [s for s in specs if s is not None]


def bundle_hash(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return digest.hexdigest()


# --------------------------------------------------------------------------- problems: collected or raised


class _Problems:
    """Where one pass puts what it finds: every problem collected (the checks), or the first error
    raised as a ModelError (a plain build, which needs no more than that)."""

    def __init__(self, *, collect: bool):
        self.collect = collect
        self.found: list[Problem] = []

    def __call__(self, problem: Problem) -> None:
        if not self.collect and problem.severity == "error":
            raise ModelError.from_problem(problem)
        self.found.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self(problem)

    def has_error(self, rules: Iterable[str] | None = None) -> bool:
        wanted = set(rules) if rules is not None else None
        return any(p.severity == "error" and (wanted is None or p.rule in wanted) for p in self.found)


def _error(
    rule: str,
    file: str,
    message: str,
    line: int | None = None,
    element: str | None = None,
    element_name: str | None = None,
) -> Problem:
    return Problem(
        rule=rule, severity="error", file=file, element=element, line=line, message=message, element_name=element_name
    )


# --------------------------------------------------------------------------- the one parse


@dataclass
class ParsedModelSet:
    """A model set parsed once: what every check reads and what the bundle is built from.

    Files that could not be read are left out (their problems were reported)."""

    files: dict[str, bytes]
    bpmn: dict[str, Any] = field(default_factory=dict)  # path → lxml tree, valid against the BPMN XSD
    decisions: dict[str, dmn.DecisionTable] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)


_dmn_validators: dict[str, BpmnValidator] = {}


def _xsd_problem(rule: str, path: str, tree: Any, err: ValidationException) -> Problem:
    """An XSD refusal, pointing at the element with an id on the refused line when there is one."""
    line = err.line_number or None
    at = (
        next((el for el in tree.getroot().iter() if el.sourceline == line and el.get("id")), None)
        if line is not None
        else None
    )
    kind = "BPMN" if rule == "bpmn-schema" else "DMN"
    return _error(
        rule,
        path,
        f"not valid {kind}: {err}",
        line,
        at.get("id") if at is not None else None,
        at.get("name") if at is not None else None,
    )


def _valid_dmn(tree: Any, path: str, report: Report) -> bool:
    namespace = etree.QName(tree.getroot()).namespace
    if namespace not in DMN_SCHEMAS:
        report(_error("dmn-schema", path, f"unknown DMN namespace {namespace!r}", tree.getroot().sourceline))
        return False
    validator = _dmn_validators.get(namespace)
    if validator is None:
        validator = _dmn_validators[namespace] = BpmnValidator(DMN_SCHEMAS[namespace])
    try:
        validator.validate(tree.getroot(), path)
    except ValidationException as err:
        report(_xsd_problem("dmn-schema", path, tree, err))
        return False
    return True


def _parse_xml(content: bytes, path: str, report: Report) -> Any | None:
    try:
        return parse_model_xml(content, path)
    except ModelError as err:
        report(err.problem())
        return None


def _parse_decision(
    content: bytes, path: str, parsed: ParsedModelSet, check_expression: CheckExpression, report: _Problems
) -> None:
    tree = _parse_xml(content, path, report)
    if tree is None or not _valid_dmn(tree, path, report):
        return
    try:
        table = dmn.parse_decision(tree.getroot())
        dmn.check_decision(table, lambda src: check_expression(src, "eval"))
    except (dmn.DecisionError, FeelSyntaxError, ExpressionError) as err:
        line = getattr(err, "lineno", None) or getattr(err, "line", None)
        element = getattr(err, "decision_id", None) or getattr(err, "rule_id", None)
        # collected: each cell's problem on its own; raised: the table's whole summary at once
        messages = (getattr(err, "problems", None) or [str(err)]) if report.collect else [str(err)]
        for message in messages:
            report(_error("decision-table", path, message, line, element))
        return
    if table.decision_id in parsed.decisions:
        report(
            _error(
                "duplicate-decision",
                path,
                f"decision id {table.decision_id!r} is in two files",
                tree.getroot().sourceline,
                table.decision_id,
                table.decision_name,
            )
        )
    parsed.decisions[table.decision_id] = table


def _parse_form(content: bytes, path: str, parsed: ParsedModelSet, report: Report) -> None:
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError) as err:
        report(_error("form-json", path, f"not valid JSON: {err}", getattr(err, "lineno", None)))
        return
    name = PurePosixPath(path).name
    if name.endswith(".schema.json"):
        try:
            Draft202012Validator.check_schema(document)
        except SchemaError as err:
            report(_error("form-schema", path, f"not a valid JSON Schema: {err.message}"))
            return
    parsed.forms[name] = document


def parse_model_set(
    files: Mapping[str, bytes], *, check_expression: CheckExpression, report: _Problems
) -> ParsedModelSet:
    """Parse and schema-check every file once: BPMN (XML, XSD), DMN (XML, XSD, the table and its cells),
    forms (JSON, JSON Schema). Other files (DMN examples) are kept as they are for their checks."""
    parsed = ParsedModelSet(dict(files))
    for path in sorted(files):
        content = files[path]
        if path.endswith(".bpmn"):
            tree = _parse_xml(content, path, report)
            if tree is None:
                continue
            try:
                VALIDATOR.validate(tree.getroot(), path)
            except ValidationException as err:
                report(_xsd_problem("bpmn-schema", path, tree, err))
                continue
            parsed.bpmn[path] = tree
        elif path.endswith(".dmn"):
            _parse_decision(content, path, parsed, check_expression, report)
        elif path.startswith("forms/") and path.endswith(".json"):
            _parse_form(content, path, parsed, report)
    return parsed


# --------------------------------------------------------------------------- SpiffWorkflow's specs


class _MissingDecision(ValidationException):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """A business rule task calls a decision the model set does not have."""


class _HostParser(SpiffBpmnParser):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """Spiff's parser, with business rule tasks bound to our FEEL decision tables.

    Without `validate`, the trees must already be valid against the BPMN XSD (the one parse did it)."""

    def __init__(
        self, decisions: Mapping[str, dmn.DecisionTable], engine_factory: EngineFactory, validate: bool = True
    ):
        super().__init__(validator=VALIDATOR if validate else None)
        self._decisions = decisions
        self._engine_factory = engine_factory

    def get_engine(self, decision_ref: str, node: Any) -> Any:
        table = self._decisions.get(decision_ref)
        if table is None:
            raise _MissingDecision(
                f"no DMN decision with id {decision_ref!r} (deployed: {', '.join(sorted(self._decisions)) or 'none'})",
                node=node,
            )
        return self._engine_factory(table)


def _spiff_problem(err: ValidationException, trees: Mapping[str, Any], path: str | None = None) -> Problem:
    """SpiffWorkflow's refusal as a problem. Spiff names the element but not its line (it reads a
    `line_number` lxml does not have), and often no file: both are found from the element's id."""
    rule = "missing-decision" if isinstance(err, _MissingDecision) else "bpmn-parse"
    message = str(err) if path is None or rule == "missing-decision" else f"not valid BPMN: {err}"
    file: str | None = path or err.file_name or None
    element_id = getattr(err, "id", None) or None
    line = err.line_number or None
    if element_id is not None and line is None:
        found_in, element = _element({file: trees[file]} if file is not None and file in trees else trees, element_id)
        if element is not None:
            file, line = file or found_in, element.sourceline
    return _error(rule, file or "?", message, line, element_id, getattr(err, "name", None) or None)


def _missing_called_processes(parser: _HostParser) -> list[Problem]:
    """Call activities, in the processes SpiffWorkflow would build, whose called process is in no file
    (SpiffWorkflow stops at the first, naming no file, element or line)."""
    parsers: Mapping[str, Any] = parser.process_parsers
    known = ", ".join(sorted(parsers)) or "none"
    problems: list[Problem] = []
    seen: set[str] = set()
    queue = list(parser.get_process_ids())
    while queue:
        process_id = queue.pop(0)
        if process_id in seen:
            continue
        seen.add(process_id)
        process = parsers[process_id]
        for call in process.node.iter(f"{{{BPMN_NS}}}callActivity"):
            called = (call.get("calledElement") or "").strip()
            if called in parsers:
                queue.append(called)
                continue
            message = (
                f"the called process {called!r} does not exist: add a process with that id or correct the "
                f"called element ({known})"
                if called
                else f"the call activity calls no process: set its called element to a process id ({known})"
            )
            problems.append(
                _error(
                    "missing-called-process",
                    process.filename or "?",
                    message,
                    call.sourceline,
                    call.get("id"),
                    call.get("name"),
                )
            )
    return problems


def _parse_specs(
    bpmn_trees: Mapping[str, Any],
    decisions: Mapping[str, dmn.DecisionTable],
    engine_factory: EngineFactory,
    known_roles: Iterable[str] | None,
    *,
    validate: bool,
    report: Report,
) -> Specs | None:
    parser = _HostParser(decisions, engine_factory, validate)
    for path, tree in bpmn_trees.items():
        try:
            parser.add_bpmn_xml(tree, filename=path)
        except ValidationException as err:
            report(_spiff_problem(err, bpmn_trees, path))
            return None
    missing = _missing_called_processes(parser)
    for problem in missing:
        report(problem)
    if missing:
        return None
    process_specs: dict[str, Any] = {}
    subprocess_specs: dict[str, dict[str, Any]] = {}
    try:
        for process_id in parser.get_process_ids():
            process_specs[process_id] = parser.get_spec(process_id)
            subprocess_specs[process_id] = parser.get_subprocess_specs(process_id)
    except ValidationException as err:
        report(_spiff_problem(err, bpmn_trees))
        return None
    roles = set(known_roles) if known_roles is not None else None
    specs = _distinct_specs(process_specs, subprocess_specs)
    for spec in specs:
        for task_spec in spec.task_specs.values():
            _prepare_task_spec(task_spec, bpmn_trees, roles)
    connect_restore_hooks(specs)
    return process_specs, subprocess_specs


def parse_specs(
    bpmn_trees: Mapping[str, Any],
    decisions: Mapping[str, dmn.DecisionTable],
    engine_factory: EngineFactory,
    known_roles: Iterable[str] | None = None,
    *,
    validate: bool = True,
) -> Specs:
    """SpiffWorkflow specs for every process, ready to run: parsed, normalised as the host reads them, and
    with the hooks Spiff otherwise makes only on live objects (see `connect_restore_hooks`) in place.
    Raises ModelError. `validate=False` when the trees were already checked against the BPMN XSD.

    Split from the checks so a worker can build fresh spec objects from stored sources cheaply."""
    specs = _parse_specs(
        bpmn_trees, decisions, engine_factory, known_roles, validate=validate, report=_Problems(collect=False)
    )
    assert specs is not None  # a refusal raised
    return specs


def _distinct_specs(process_specs: Mapping[str, Any], subprocess_specs: Mapping[str, Mapping[str, Any]]) -> list[Any]:
    """Every spec object once: a called process appears under each caller as its own object."""
    found: list[Any] = []
    seen: set[int] = set()
    for spec in list(process_specs.values()) + [s for subs in subprocess_specs.values() for s in subs.values()]:
        if spec is not None and id(spec) not in seen:
            seen.add(id(spec))
            found.append(spec)
    return found


def connect_restore_hooks(specs: Iterable[Any]) -> None:
    """Re-make the connections SpiffWorkflow 3.2 makes only while running a case on live spec objects.

    A multi-instance or loop activity connects its merge to the inner task's `completed_event` when
    it creates its instances (`multiinstance_task.create_child`). A worker that restores the case
    from stored state never ran that line, so the last partner's answer completed the instance and
    nothing merged: the case stopped forever. Spiff's own spec deserialiser makes the same connection
    (`process_spec.py`); we parse XML instead, so we make it here. Idempotent. The other restore-time
    hooks (a called process's `completed_event`) are remade by the workflow converter on restore."""
    for spec in specs:
        if spec is None:
            continue
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, LoopTask):
                child = spec.task_specs.get(task_spec.task_spec)
                if child is not None and not child.completed_event.is_connected(task_spec.merge_child):
                    child.completed_event.connect(task_spec.merge_child)


def _element(trees: Mapping[str, Any], bpmn_id: str) -> tuple[str, Any]:
    """The file and lxml element with this id ("?" and None when no file has it)."""
    for path, tree in trees.items():
        found = tree.getroot().xpath("//*[@id=$id]", id=bpmn_id)
        if found:
            return path, found[0]
    return "?", None


def _role_from_candidate_groups(trees: Mapping[str, Any], task_spec: Any, roles: set[str] | None) -> str | None:
    """A user task in no lane (e.g. drawn in Camunda Modeler) takes its role from
    `camunda:candidateGroups`: the first group that is a known role id."""
    _, element = _element(trees, task_spec.bpmn_id)
    groups = (element.get(f"{{{CAMUNDA_NS}}}candidateGroups") or "") if element is not None else ""
    names = [g.strip() for g in groups.split(",") if g.strip()]
    for name in names:
        if roles is None or name in roles:
            return name
    return names[0] if names else None


def _prepare_task_spec(task_spec: Any, trees: Mapping[str, Any], roles: set[str] | None) -> None:
    """Normalise a spec as the host reads it: ISO timer literals quoted, a laneless task's role from
    `camunda:candidateGroups`. Done on every parse (deploy or a fresh worker), never only in a check."""
    event_definition = getattr(task_spec, "event_definition", None)
    if isinstance(event_definition, TimerEventDefinition):
        expression = (event_definition.expression or "").strip()
        if ISO_TIMER_LITERAL.match(expression):
            event_definition.expression = repr(expression)  # modellers write PT4H unquoted
    if getattr(task_spec, "manual", False) and getattr(task_spec, "bpmn_id", None) and task_spec.lane is None:
        task_spec.lane = _role_from_candidate_groups(trees, task_spec, roles)


def _check_task_spec(
    task_spec: Any,
    trees: Mapping[str, Any],
    forms: Mapping[str, Any],
    check_expression: CheckExpression,
    roles: set[str] | None,
    report: Report,
) -> None:
    bpmn_id = getattr(task_spec, "bpmn_id", None)
    if bpmn_id is None:
        return
    name = getattr(task_spec, "bpmn_name", None)

    def fail(rule: str, message: str) -> None:
        path, element = _element(trees, bpmn_id)
        report(_error(rule, path, message, element.sourceline if element is not None else None, bpmn_id, name))

    def check(source: str | None, mode: Mode, what: str) -> None:
        if not source:
            return
        try:
            check_expression(source, mode)
        except ExpressionError as err:
            fail("invalid-expression", f"{what}: {err}")

    for source, mode, what in _task_expressions(task_spec):
        check(source, mode, what)
    if getattr(task_spec, "manual", False):
        _check_user_task(task_spec, forms, roles, fail)


def _task_expressions(task_spec: Any) -> list[tuple[str | None, Mode, str]]:
    """(source, mode, what) for every script and expression a task holds, user task properties included."""
    found: list[tuple[str | None, Mode, str]] = [
        (getattr(task_spec, "script", None), "exec", "script"),
        (getattr(task_spec, "prescript", None), "exec", "pre-script"),
        (getattr(task_spec, "postscript", None), "exec", "post-script"),
    ]
    for condition, _ in getattr(task_spec, "cond_task_specs", []) or []:
        if condition is not None:
            found.append((condition.args[0], "eval", "gateway condition"))
    for param in (getattr(task_spec, "operation_params", None) or {}).values():
        found.append((param.get("value"), "eval", "service task parameter"))
    event_definition = getattr(task_spec, "event_definition", None)
    if isinstance(event_definition, TimerEventDefinition):
        found.append(((event_definition.expression or "").strip(), "eval", "timer expression"))
    if getattr(task_spec, "manual", False):
        properties = _user_task_properties(task_spec)
        found.extend(
            (properties.get(prop), "eval", f"user task property {prop}") for prop in USER_TASK_EXPRESSION_PROPERTIES
        )
    return found


def _user_task_properties(task_spec: Any) -> dict[str, Any]:
    extensions = getattr(task_spec, "extensions", {}) or {}
    return extensions.get("properties", {}) or {}


def _check_user_task(
    task_spec: Any, forms: Mapping[str, Any], roles: set[str] | None, fail: Callable[[str, str], None]
) -> None:
    """A user task's forms exist and its lane names a role."""
    properties = _user_task_properties(task_spec)
    # A user task without a form is allowed: its page shows the documentation and a Complete button.
    for prop in ("formJsonSchemaFilename", "formUiSchemaFilename"):
        form = properties.get(prop)
        if form and form not in forms:
            fail("missing-form", f"the form file forms/{form} ({prop}) does not exist: add it or correct the name")
    lane = task_spec.lane
    if roles is not None and lane not in roles:
        if lane is None:
            fail(
                "no-lane",
                "the user task is in no lane, so nobody could work on it: put it in a lane named "
                f"after a role id ({', '.join(sorted(roles))})",
            )
        else:
            fail(
                "lane-not-role",
                f"the lane {lane!r} is not a role id: name the lane after one of {', '.join(sorted(roles))}",
            )


def _bundle_from(
    parsed: ParsedModelSet,
    *,
    check_expression: CheckExpression,
    engine_factory: EngineFactory,
    known_roles: Iterable[str] | None,
    report: Report,
) -> Bundle | None:
    """The bundle, built from the one parse (no file is read again); None when SpiffWorkflow refused it."""
    specs = _parse_specs(parsed.bpmn, parsed.decisions, engine_factory, known_roles, validate=False, report=report)
    if specs is None:
        return None
    process_specs, subprocess_specs = specs
    roles = set(known_roles) if known_roles is not None else None
    for spec in _distinct_specs(process_specs, subprocess_specs):
        for task_spec in spec.task_specs.values():
            _check_task_spec(task_spec, parsed.bpmn, parsed.forms, check_expression, roles, report)
    return Bundle(
        bundle_hash(parsed.files), process_specs, subprocess_specs, parsed.decisions, parsed.forms, dict(parsed.files)
    )


def build_bundle(
    files: Mapping[str, bytes],
    *,
    check_expression: CheckExpression,
    engine_factory: EngineFactory,
    known_roles: Iterable[str] | None = None,
) -> Bundle:
    """Validate and parse a model set; the first problem is raised as a ModelError (file, line, element,
    rule). `check_expression(source, mode)` is the evaluator's static check. `check_model_set` makes
    the same checks and more, collecting every problem instead."""
    parsed = parse_model_set(files, check_expression=check_expression, report=_Problems(collect=False))
    bundle = _bundle_from(
        parsed,
        check_expression=check_expression,
        engine_factory=engine_factory,
        known_roles=known_roles,
        report=_Problems(collect=False),
    )
    assert bundle is not None  # a refusal raised
    return bundle


def fresh_specs(bundle: Bundle, engine_factory: EngineFactory, known_roles: Iterable[str] | None = None) -> Bundle:
    """The same deployed version with spec objects built afresh from its stored sources, sharing no
    SpiffWorkflow object with any earlier run (tests use it to act as another worker or a restart)."""
    trees = {
        path: parse_model_xml(content, path)
        for path, content in sorted(bundle.sources.items())
        if path.endswith(".bpmn")
    }
    process_specs, subprocess_specs = parse_specs(trees, bundle.decisions, engine_factory, known_roles)
    return replace(bundle, process_specs=process_specs, subprocess_specs=subprocess_specs)


# --------------------------------------------------------------------------- whole-set validation

MODEL_PATH = re.compile(
    r"^(processes/[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}\.bpmn"
    r"|dmn/[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}\.(dmn|tests\.json)"
    r"|forms/[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}\.json)$"
)
# Problems that leave a file unread: SpiffWorkflow is not asked to build specs while any is an error.
FILE_RULES = frozenset(
    {
        "model-path",
        "file-too-large",
        "xml-not-well-formed",
        "xml-doctype",
        "bpmn-schema",
        "dmn-schema",
        "form-json",
        "form-schema",
    }
)
# Problems a business rule task's called decision already has (SpiffWorkflow's parse stops at the same one).
_DECISION_REFERENCE_RULES = frozenset({"missing-decision", "no-called-decision"})


def model_path_problem(path: str) -> str | None:
    """Why a path cannot hold a model file, or None when it can."""
    if ".." in path or not MODEL_PATH.match(path):
        return (
            "model files are processes/<name>.bpmn, dmn/<decision>.dmn, dmn/<decision>.tests.json or "
            "forms/<name>.json (letters, digits, _ . -)"
        )
    return None


class ModelCheck(NamedTuple):
    """What `check_model_set` found: the bundle (None when any problem is an error), built from the same
    parse as the checks, and every problem ordered by severity, file, line and rule."""

    bundle: Bundle | None
    problems: list[Problem]


def check_model_set(
    files: Mapping[str, bytes],
    *,
    check_expression: CheckExpression,
    engine_factory: EngineFactory,
    evaluate: Evaluate,
    known_roles: Iterable[str] | None = None,
    start_data: Iterable[str] = (),
) -> ModelCheck:
    """Every check a deployment makes, collecting problems instead of stopping at the first.

    Returns (bundle or None, problems). The bundle is None when any problem is an error.
    Checks: names and sizes, hardened XML parse, BPMN/DMN XSD, DMN tables (FEEL, expressions),
    forms (JSON, JSON Schema), bpmnlint's recommended rules, SpiffWorkflow parse, every
    expression and script through the evaluator's static check, lanes → roles, forms referenced
    exist, called processes and decisions exist with the decisions' inputs provided, task
    instructions' placeholders (app.engine.instructions), DMN table tests pass — all the evaluations
    of one validation share one budget of steps and time (docs/safety.md, "Limits").
    Each file is parsed once; the bundle is built from that parse.
    """
    # One budget of steps and time for every expression this validation evaluates (DMN table tests):
    # a model set that would take too long is refused with a problem, never a hang (docs/safety.md).
    # Read through the module at call time, so a test can give the whole validation a smaller budget.
    with evaluator.validation_budget():
        return _check_model_set(
            files,
            check_expression=check_expression,
            engine_factory=engine_factory,
            evaluate=evaluate,
            known_roles=known_roles,
            start_data=start_data,
        )


def _check_model_set(
    files: Mapping[str, bytes],
    *,
    check_expression: CheckExpression,
    engine_factory: EngineFactory,
    evaluate: Evaluate,
    known_roles: Iterable[str] | None,
    start_data: Iterable[str],
) -> ModelCheck:
    found = _Problems(collect=True)
    usable: dict[str, bytes] = {}
    for path in sorted(files):
        reason = model_path_problem(path)
        if reason:
            found(_error("model-path", path, reason))
        elif len(files[path]) > MAX_MODEL_BYTES:
            found(_error("file-too-large", path, f"file is larger than {MAX_MODEL_BYTES // 1024} KB"))
        else:
            usable[path] = files[path]

    parsed = parse_model_set(usable, check_expression=check_expression, report=found)
    placeholders = [0]  # checked so far in this model set (the check's work is bounded)
    for path, tree in parsed.bpmn.items():
        found.extend(lint.lint_bpmn(path, tree))
        found.extend(_instruction_problems(path, tree, placeholders))
    found.extend(lint.decision_inputs(parsed.bpmn, parsed.decisions, parsed.forms, start_data))
    for path, content in usable.items():
        if path.endswith(".tests.json") and f"dmn/{path[4:].removesuffix('.tests.json')}.dmn" in usable:
            found.extend(lint.run_decision_tests(path, content, parsed.decisions, evaluate))

    bundle = None
    if not found.has_error(FILE_RULES):
        called = {p.element for p in found.found if p.rule in _DECISION_REFERENCE_RULES}

        def report(problem: Problem) -> None:
            # the task whose called decision is missing was reported above, with its file and line
            if not (problem.rule == "missing-decision" and problem.element in called):
                found(problem)

        bundle = _bundle_from(
            parsed,
            check_expression=check_expression,
            engine_factory=engine_factory,
            known_roles=known_roles,
            report=report,
        )
    if found.has_error():
        bundle = None
    return ModelCheck(bundle, sorted_problems(found.found))


def _instruction_problems(path: str, tree: Any, placeholders: list[int]) -> list[Problem]:
    """Every task's instructions (``instructionsForEndUser``) as the task page would fill them: a
    placeholder outside the rules (app.engine.instructions) is a problem of that task. At most
    MAX_PLACEHOLDERS_PER_SET placeholders are checked in one model set; more is itself a problem (the limit is
    read through the module at call time, so a test can lower it)."""
    found = []
    for el in tree.getroot().iter(f"{{{SPIFF_NS}}}instructionsForEndUser"):
        owner = el.getparent()
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        element = owner.get("id") if owner is not None else None
        element_name = owner.get("name") if owner is not None else None
        placeholders[0] += instructions.count_placeholders(el.text)
        if placeholders[0] > instructions.MAX_PLACEHOLDERS_PER_SET:
            limit = instructions.MAX_PLACEHOLDERS_PER_SET
            found.append(
                _error(
                    "instructions",
                    path,
                    f"instructions: the model set has more than {limit} {{{{ }}}} placeholders: use fewer",
                    el.sourceline,
                    element,
                    element_name,
                )
            )
            break
        for message in instructions.check_instructions(el.text or ""):
            found.append(_error("instructions", path, f"instructions: {message}", el.sourceline, element, element_name))
    return found
