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
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Iterable, Mapping

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
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
USER_TASK_EXPRESSION_PROPERTIES = ("dueAt", "team", "agency")


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


def build_bundle(files: Mapping[str, bytes], *, check_expression, engine_factory,
                 known_roles: Iterable[str] | None = None) -> Bundle:
    """Validate and parse a model set. `check_expression(source, mode)` is the evaluator's static check."""
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

    parser = _HostParser(decisions, engine_factory)
    for path, tree in bpmn_trees.items():
        try:
            parser.add_bpmn_xml(tree, filename=path)
        except ValidationException as err:
            raise ModelError(path, err.line_number or None, f"not valid BPMN: {err}") from None
    process_specs: dict[str, Any] = {}
    subprocess_specs: dict[str, dict[str, Any]] = {}
    try:
        for process_id in parser.get_process_ids():
            process_specs[process_id] = parser.get_spec(process_id)
            subprocess_specs[process_id] = parser.get_subprocess_specs(process_id)
    except ValidationException as err:
        raise ModelError(err.file_name or "?", err.line_number or None, str(err), getattr(err, "id", None)) from None

    roles = set(known_roles) if known_roles is not None else None
    seen: set[int] = set()
    for spec in list(process_specs.values()) + [s for subs in subprocess_specs.values() for s in subs.values()]:
        if spec is None or id(spec) in seen:
            continue
        seen.add(id(spec))
        for task_spec in spec.task_specs.values():
            _check_task_spec(task_spec, bpmn_trees, forms, check_expression, roles)
    return Bundle(bundle_hash(files), process_specs, subprocess_specs, decisions, forms, dict(files))


def _check_task_spec(task_spec, trees, forms, check_expression, roles) -> None:
    bpmn_id = getattr(task_spec, "bpmn_id", None)
    if bpmn_id is None:
        return

    def check(source: str | None, mode: str, what: str) -> None:
        if not source:
            return
        try:
            check_expression(source, mode)
        except ExpressionError as err:
            path, line = _element_line(trees, bpmn_id)
            raise ModelError(path, line, f"{what}: {err}", bpmn_id) from None

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
        expression = (event_definition.expression or "").strip()
        if ISO_TIMER_LITERAL.match(expression):
            event_definition.expression = repr(expression)  # modellers write PT4H unquoted
        else:
            check(expression, "eval", "timer expression")
    if getattr(task_spec, "manual", False):
        extensions = getattr(task_spec, "extensions", {}) or {}
        properties = extensions.get("properties", {}) or {}
        for name in USER_TASK_EXPRESSION_PROPERTIES:
            check(properties.get(name), "eval", f"user task property {name}")
        for name in ("formJsonSchemaFilename", "formUiSchemaFilename"):
            form = properties.get(name)
            if not form:
                path, line = _element_line(trees, bpmn_id)
                raise ModelError(path, line, f"user task has no {name} property", bpmn_id)
            if form not in forms:
                path, line = _element_line(trees, bpmn_id)
                raise ModelError(path, line, f"form file forms/{form} is not in the deployment", bpmn_id)
        lane = task_spec.lane
        if roles is not None and lane not in roles:
            path, line = _element_line(trees, bpmn_id)
            raise ModelError(path, line, f"user task lane {lane!r} is not a role id ({', '.join(sorted(roles))})", bpmn_id)
