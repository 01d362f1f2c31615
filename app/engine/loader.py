"""Turn a set of model files into an executable, validated bundle — or a ModelError with a line.

Validation happens here, once per deployed version: hardened XML parse, BPMN/DMN XSD, every
expression and script statically checked by the restricted evaluator, every user task's form
present and a valid JSON Schema, every lane a known role. The parsed specs are then cached by
the host per version, so requests never re-parse XML.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any, Iterable, Mapping

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from app.engine import dmn
from app.engine.errors import ModelError
from app.engine.evaluator import ExpressionError
from app.engine.feel import FeelSyntaxError
from app.engine.xml import parse_model_xml

ISO_TIMER_LITERAL = re.compile(
    r"^(R\d*/)?(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
    r"|\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2}))$"
)
USER_TASK_EXPRESSION_PROPERTIES = ("dueAt", "team", "agency", "withdrawWhen", "withdrawWith", "assignTo", "tagWhen")


@dataclass
class Bundle:
    """Everything one deployed version needs at run time."""

    bundle_hash: str
    process_specs: dict[str, Any]
    subprocess_specs: dict[str, dict[str, Any]]
    decisions: dict[str, "dmn.DecisionTable"]
    forms: dict[str, dict]
    sources: dict[str, bytes] = field(repr=False, default_factory=dict)

    def form(self, name: str | None) -> dict | None:
        return self.forms.get(name) if name else None

    def task_extensions(self, bpmn_id: str) -> dict:
        """A task's spiffworkflow extensions (properties, instructions), wherever it is deployed."""
        specs = list(self.process_specs.values()) + [s for subs in self.subprocess_specs.values() for s in subs.values()]
        for spec in specs:
            for task_spec in (spec.task_specs.values() if spec is not None else []):
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
                    return task_spec.documentation
        return None

    def process_name(self, process_id: str) -> str:
        spec = self.process_specs.get(process_id)
        return (getattr(spec, "description", None) or process_id) if spec is not None else process_id

    def called_process_ids(self) -> set[str]:
        """Processes that run inside another one (call activities), never started on their own."""
        called = set()
        for owner, subs in self.subprocess_specs.items():
            called |= {pid for pid in subs if pid != owner and pid in self.process_specs}
        return called

    def start_roles(self, process_id: str) -> set[str]:
        """The roles of the first user task(s) reachable from the process's start: who may start it."""
        spec = self.process_specs.get(process_id)
        if spec is None:
            return set()
        roles, seen, queue = set(), set(), [spec.start]
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
        return any(name in ((getattr(t, "extensions", None) or {}).get("properties") or {})
                   for spec in self._all_specs() for t in spec.task_specs.values())

    def _all_specs(self) -> list:
        specs = list(self.process_specs.values()) + [s for subs in self.subprocess_specs.values() for s in subs.values()]
        return [s for s in specs if s is not None]


def bundle_hash(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return digest.hexdigest()


class _HostParser(SpiffBpmnParser):
    """Spiff's parser, with business rule tasks bound to our FEEL decision tables."""

    def __init__(self, decisions: Mapping[str, "dmn.DecisionTable"], engine_factory):
        super().__init__(validator=VALIDATOR)
        self._decisions = decisions
        self._engine_factory = engine_factory

    def get_engine(self, decision_ref, node):
        table = self._decisions.get(decision_ref)
        if table is None:
            raise ValidationException(
                f"no DMN decision with id {decision_ref!r} (deployed: {', '.join(sorted(self._decisions)) or 'none'})",
                node=node,
            )
        return self._engine_factory(table)


_dmn_validators: dict[str, BpmnValidator] = {}


def _validate_dmn(tree: etree._ElementTree, filename: str) -> None:
    namespace = etree.QName(tree.getroot()).namespace
    if namespace not in DMN_SCHEMAS:
        raise ModelError(filename, tree.getroot().sourceline, f"unknown DMN namespace {namespace!r}")
    validator = _dmn_validators.get(namespace)
    if validator is None:
        validator = _dmn_validators[namespace] = BpmnValidator(DMN_SCHEMAS[namespace])
    try:
        validator.validate(tree.getroot(), filename)
    except ValidationException as err:
        raise ModelError(filename, err.line_number or None, f"not valid DMN: {err}") from None


def _load_forms(files: Mapping[str, bytes]) -> dict[str, dict]:
    forms: dict[str, dict] = {}
    for path, content in files.items():
        if not path.startswith("forms/") or not path.endswith(".json"):
            continue
        name = PurePosixPath(path).name
        try:
            document = json.loads(content)
        except (ValueError, UnicodeDecodeError) as err:
            raise ModelError(path, getattr(err, "lineno", None), f"not valid JSON: {err}") from None
        if name.endswith(".schema.json"):
            try:
                Draft202012Validator.check_schema(document)
            except SchemaError as err:
                raise ModelError(path, None, f"not a valid JSON Schema: {err.message}") from None
        forms[name] = document
    return forms


def _element_line(trees: Mapping[str, etree._ElementTree], bpmn_id: str) -> tuple[str, int | None]:
    for path, tree in trees.items():
        found = tree.getroot().xpath("//*[@id=$id]", id=bpmn_id)
        if found:
            return path, found[0].sourceline
    return "?", None


def _element(trees: Mapping[str, etree._ElementTree], bpmn_id: str):
    for tree in trees.values():
        found = tree.getroot().xpath("//*[@id=$id]", id=bpmn_id)
        if found:
            return found[0]
    return None


CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


def _role_from_candidate_groups(trees: Mapping[str, etree._ElementTree], task_spec, roles) -> str | None:
    """A user task in no lane (e.g. drawn in Camunda Modeler) takes its role from
    `camunda:candidateGroups`: the first group that is a known role id."""
    element = _element(trees, task_spec.bpmn_id)
    groups = (element.get(f"{{{CAMUNDA_NS}}}candidateGroups") or "") if element is not None else ""
    names = [g.strip() for g in groups.split(",") if g.strip()]
    for name in names:
        if roles is None or name in roles:
            return name
    return names[0] if names else None


def _raise(err: ModelError) -> None:
    raise err


def build_bundle(files: Mapping[str, bytes], *, check_expression, engine_factory,
                 known_roles: Iterable[str] | None = None, report=None) -> Bundle:
    """Validate and parse a model set. `check_expression(source, mode)` is the evaluator's static check.

    `report(ModelError)`, when given, receives each problem found in task specs (expressions,
    forms, lanes) and the check carries on, so a modeller sees them all; by default the first
    problem is raised. File-level problems (XML, XSD, DMN, BPMN parse) always raise."""
    bpmn_trees: dict[str, etree._ElementTree] = {}
    decisions: dict[str, dmn.DecisionTable] = {}
    for path in sorted(files):
        content = files[path]
        if path.endswith(".bpmn"):
            bpmn_trees[path] = parse_model_xml(content, path)
        elif path.endswith(".dmn"):
            tree = parse_model_xml(content, path)
            _validate_dmn(tree, path)
            try:
                table = dmn.parse_decision(tree.getroot())
                dmn.check_decision(table, lambda src: check_expression(src, "eval"))
            except (dmn.DecisionError, FeelSyntaxError, ExpressionError) as err:
                raise ModelError(path, getattr(err, "lineno", None) or getattr(err, "line", None), str(err)) from None
            if table.decision_id in decisions:
                raise ModelError(path, tree.getroot().sourceline, f"decision id {table.decision_id!r} is deployed twice")
            decisions[table.decision_id] = table
    forms = _load_forms(files)

    process_specs, subprocess_specs = parse_specs(bpmn_trees, decisions, engine_factory, known_roles)
    roles = set(known_roles) if known_roles is not None else None
    for spec in _distinct_specs(process_specs, subprocess_specs):
        for task_spec in spec.task_specs.values():
            _check_task_spec(task_spec, bpmn_trees, forms, check_expression, roles, report or _raise)
    return Bundle(bundle_hash(files), process_specs, subprocess_specs, decisions, forms, dict(files))


def parse_specs(bpmn_trees: Mapping[str, etree._ElementTree], decisions: Mapping[str, "dmn.DecisionTable"],
                engine_factory, known_roles: Iterable[str] | None = None) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """SpiffWorkflow specs for every process, ready to run: parsed, normalised as the host reads them, and
    with the hooks Spiff otherwise makes only on live objects (see `connect_restore_hooks`) in place.

    Split from the checks so a worker can build fresh spec objects from stored sources cheaply."""
    parser = _HostParser(decisions, engine_factory)
    for path, tree in bpmn_trees.items():
        try:
            parser.add_bpmn_xml(tree, filename=path)
        except ValidationException as err:
            raise ModelError(path, err.line_number or None, f"not valid BPMN: {err}", getattr(err, "id", None) or None,
                             getattr(err, "name", None) or None) from None
    process_specs: dict[str, Any] = {}
    subprocess_specs: dict[str, dict[str, Any]] = {}
    try:
        for process_id in parser.get_process_ids():
            process_specs[process_id] = parser.get_spec(process_id)
            subprocess_specs[process_id] = parser.get_subprocess_specs(process_id)
    except ValidationException as err:
        raise ModelError(err.file_name or "?", err.line_number or None, str(err), getattr(err, "id", None),
                         getattr(err, "name", None) or None) from None
    roles = set(known_roles) if known_roles is not None else None
    specs = _distinct_specs(process_specs, subprocess_specs)
    for spec in specs:
        for task_spec in spec.task_specs.values():
            _prepare_task_spec(task_spec, bpmn_trees, roles)
    connect_restore_hooks(specs)
    return process_specs, subprocess_specs


def _distinct_specs(process_specs: Mapping[str, Any], subprocess_specs: Mapping[str, Mapping[str, Any]]) -> list:
    """Every spec object once: a called process appears under each caller as its own object."""
    found, seen = [], set()
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


def _prepare_task_spec(task_spec, trees, roles) -> None:
    """Normalise a spec as the host reads it: ISO timer literals quoted, a laneless task's role from
    `camunda:candidateGroups`. Done on every parse (deploy or a fresh worker), never only in a check."""
    event_definition = getattr(task_spec, "event_definition", None)
    if isinstance(event_definition, TimerEventDefinition):
        expression = (event_definition.expression or "").strip()
        if ISO_TIMER_LITERAL.match(expression):
            event_definition.expression = repr(expression)  # modellers write PT4H unquoted
    if getattr(task_spec, "manual", False) and getattr(task_spec, "bpmn_id", None) and task_spec.lane is None:
        task_spec.lane = _role_from_candidate_groups(trees, task_spec, roles)


def fresh_specs(bundle: Bundle, engine_factory, known_roles: Iterable[str] | None = None) -> Bundle:
    """The same deployed version with spec objects built afresh from its stored sources, sharing no
    SpiffWorkflow object with any earlier run (tests use it to act as another worker or a restart)."""
    trees = {path: parse_model_xml(content, path) for path, content in sorted(bundle.sources.items())
             if path.endswith(".bpmn")}
    process_specs, subprocess_specs = parse_specs(trees, bundle.decisions, engine_factory, known_roles)
    return replace(bundle, process_specs=process_specs, subprocess_specs=subprocess_specs)


def _check_task_spec(task_spec, trees, forms, check_expression, roles, report=_raise) -> None:
    bpmn_id = getattr(task_spec, "bpmn_id", None)
    if bpmn_id is None:
        return
    name = getattr(task_spec, "bpmn_name", None)

    def fail(message: str) -> None:
        path, line = _element_line(trees, bpmn_id)
        report(ModelError(path, line, message, bpmn_id, name))

    def check(source: str | None, mode: str, what: str) -> None:
        if not source:
            return
        try:
            check_expression(source, mode)
        except ExpressionError as err:
            fail(f"{what}: {err}")

    check(getattr(task_spec, "script", None), "exec", "script")
    check(getattr(task_spec, "prescript", None), "exec", "pre-script")
    check(getattr(task_spec, "postscript", None), "exec", "post-script")
    for condition, _ in getattr(task_spec, "cond_task_specs", []) or []:
        if condition is not None:
            check(condition.args[0], "eval", "gateway condition")
    for param in (getattr(task_spec, "operation_params", None) or {}).values():
        check(param.get("value"), "eval", "service task parameter")
    event_definition = getattr(task_spec, "event_definition", None)
    if isinstance(event_definition, TimerEventDefinition):
        check((event_definition.expression or "").strip(), "eval", "timer expression")
    if getattr(task_spec, "manual", False):
        extensions = getattr(task_spec, "extensions", {}) or {}
        properties = extensions.get("properties", {}) or {}
        for prop in USER_TASK_EXPRESSION_PROPERTIES:
            check(properties.get(prop), "eval", f"user task property {prop}")
        # A user task without a form is allowed: its page shows the documentation and a Complete button.
        for prop in ("formJsonSchemaFilename", "formUiSchemaFilename"):
            form = properties.get(prop)
            if form and form not in forms:
                fail(f"the form file forms/{form} ({prop}) does not exist: add it or correct the name")
        lane = task_spec.lane
        if roles is not None and lane not in roles:
            if lane is None:
                fail("the user task is in no lane, so nobody could work on it: put it in a lane named after a role id "
                     f"({', '.join(sorted(roles))})")
            else:
                fail(f"the lane {lane!r} is not a role id: name the lane after one of {', '.join(sorted(roles))}")


# --------------------------------------------------------------------------- whole-set validation

MODEL_PATH = re.compile(
    r"^(processes/[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}\.bpmn"
    r"|dmn/[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}\.(dmn|tests\.json)"
    r"|forms/[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}\.json)$"
)


def model_path_problem(path: str) -> str | None:
    """Why a path cannot hold a model file, or None when it can."""
    if ".." in path or not MODEL_PATH.match(path):
        return ("model files are processes/<name>.bpmn, dmn/<decision>.dmn, dmn/<decision>.tests.json or "
                "forms/<name>.json (letters, digits, _ . -)")
    return None


def check_model_set(files: Mapping[str, bytes], *, check_expression, engine_factory, evaluate,
                    known_roles: Iterable[str] | None = None, start_data: Iterable[str] = ()):
    """Every check a deployment makes, collecting problems instead of stopping at the first.

    Returns (bundle or None, problems). The bundle is None when any problem is an error.
    Checks: names and sizes, hardened XML parse, BPMN/DMN XSD, DMN tables (FEEL, expressions),
    forms (JSON, JSON Schema), bpmnlint's recommended rules, SpiffWorkflow parse, every
    expression and script through the evaluator's static check, lanes → roles, forms referenced
    exist, called decisions exist with their inputs provided, task instructions' placeholders
    (app.engine.instructions), DMN table tests pass — all the evaluations of one validation share one
    budget of steps and time (docs/safety.md, "Limits").
    """
    from app.engine.evaluator import validation_budget

    # One budget of steps and time for every expression this validation evaluates (DMN table tests):
    # a model set that would take too long is refused with a problem, never a hang (docs/safety.md).
    with validation_budget():
        return _check_model_set(files, check_expression=check_expression, engine_factory=engine_factory,
                                evaluate=evaluate, known_roles=known_roles, start_data=start_data)


def _check_model_set(files: Mapping[str, bytes], *, check_expression, engine_factory, evaluate,
                     known_roles: Iterable[str] | None, start_data: Iterable[str]):
    from app.engine import lint
    from app.engine.errors import Problem
    from app.engine.xml import MAX_MODEL_BYTES

    problems: list[Problem] = []

    def add(err: ModelError, rule: str) -> None:
        problem = err.problem()
        problems.append(Problem(problem.file, problem.element_id, problem.element_name, problem.line,
                                problem.message, "error", rule))

    usable: dict[str, bytes] = {}
    for path in sorted(files):
        reason = model_path_problem(path)
        if reason:
            problems.append(Problem(path, None, None, None, reason, "error", "path"))
        elif len(files[path]) > MAX_MODEL_BYTES:
            problems.append(Problem(path, None, None, None, f"file is larger than {MAX_MODEL_BYTES // 1024} KB",
                                    "error", "size"))
        else:
            usable[path] = files[path]

    trees: dict[str, etree._ElementTree] = {}
    decisions: dict[str, dmn.DecisionTable] = {}
    for path, content in usable.items():
        if path.endswith(".bpmn"):
            try:
                tree = parse_model_xml(content, path)
            except ModelError as err:
                add(err, "xml")
                continue
            try:
                VALIDATOR.validate(tree.getroot(), path)
            except ValidationException as err:
                line = err.line_number or None
                at = next((el for el in tree.getroot().iter() if el.sourceline == line and el.get("id")), None)
                problems.append(Problem(path, at.get("id") if at is not None else None,
                                        at.get("name") if at is not None else None, line, f"not valid BPMN: {err}",
                                        "error", "xsd"))
                continue
            trees[path] = tree
        elif path.endswith(".dmn"):
            try:
                tree = parse_model_xml(content, path)
                _validate_dmn(tree, path)
            except ModelError as err:
                add(err, "xml" if "XML" in err.message or "DOCTYPE" in err.message else "xsd")
                continue
            try:
                table = dmn.parse_decision(tree.getroot())
                dmn.check_decision(table, lambda src: check_expression(src, "eval"))
            except (dmn.DecisionError, FeelSyntaxError, ExpressionError) as err:
                line = getattr(err, "lineno", None) or getattr(err, "line", None)
                for message in getattr(err, "problems", None) or [str(err)]:
                    problems.append(Problem(path, getattr(err, "decision_id", None) or getattr(err, "rule_id", None),
                                            None, line, message, "error", "decision"))
                continue
            if table.decision_id in decisions:
                problems.append(Problem(path, table.decision_id, table.decision_name, tree.getroot().sourceline,
                                        f"decision id {table.decision_id!r} is in two files", "error", "decision"))
            decisions[table.decision_id] = table
        elif path.startswith("forms/"):
            try:
                _load_forms({path: content})
            except ModelError as err:
                add(err, "form")
    forms: dict[str, dict] = {}
    for path, content in usable.items():
        if path.startswith("forms/"):
            try:
                forms.update(_load_forms({path: content}))
            except ModelError:
                pass

    placeholders = [0]  # checked so far in this model set (the check's work is bounded)
    for path, tree in trees.items():
        problems.extend(lint.lint_bpmn(path, tree))
        problems.extend(_instruction_problems(path, tree, placeholders))
    problems.extend(lint.decision_inputs(trees, decisions, forms, start_data))
    for path, content in usable.items():
        if path.endswith(".tests.json") and f"dmn/{path[4:].removesuffix('.tests.json')}.dmn" in usable:
            problems.extend(lint.run_decision_tests(path, content, decisions, evaluate))

    bundle = None
    file_level = {"path", "size", "xml", "xsd", "form"}
    if not any(p.severity == "error" and p.rule in file_level for p in problems):
        missing_decisions = any(p.rule == "decision" and "does not exist" in p.message for p in problems)
        try:
            bundle = build_bundle(usable, check_expression=check_expression, engine_factory=engine_factory,
                                  known_roles=known_roles, report=lambda err: add(err, _rule_of(err.message)))
        except ModelError as err:
            if not (missing_decisions and "no DMN decision" in err.message):
                add(err, "bpmn")
    if any(p.severity == "error" for p in problems):
        bundle = None
    return bundle, problems


SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def _instruction_problems(path: str, tree: etree._ElementTree, placeholders: list[int]) -> list:
    """Every task's instructions (``instructionsForEndUser``) as the task page would fill them: a
    placeholder outside the rules (app.engine.instructions) is a problem of that task. At most
    MAX_PLACEHOLDERS_PER_SET placeholders are checked in one model set; more is itself a problem."""
    from app.engine.errors import Problem
    from app.engine.instructions import MAX_PLACEHOLDERS_PER_SET, check_instructions, count_placeholders

    found = []
    for el in tree.getroot().iter(f"{{{SPIFF_NS}}}instructionsForEndUser"):
        owner = el.getparent()
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        placeholders[0] += count_placeholders(el.text)
        if placeholders[0] > MAX_PLACEHOLDERS_PER_SET:
            found.append(Problem(path, owner.get("id") if owner is not None else None,
                                 owner.get("name") if owner is not None else None, el.sourceline,
                                 f"instructions: the model set has more than {MAX_PLACEHOLDERS_PER_SET} {{{{ }}}} "
                                 "placeholders: use fewer", "error", "instructions"))
            break
        for message in check_instructions(el.text or ""):
            found.append(Problem(path, owner.get("id") if owner is not None else None,
                                 owner.get("name") if owner is not None else None, el.sourceline,
                                 f"instructions: {message}", "error", "instructions"))
    return found


def _rule_of(message: str) -> str:
    if message.startswith(("the lane", "the user task is in no lane")):
        return "lane"
    if message.startswith("the form file"):
        return "form"
    return "expression"
