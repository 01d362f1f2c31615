"""Run SpiffWorkflow under the host's rules: restricted evaluator, FEEL decisions, guarded tasks.

Why a wrapper: Spiff's defaults are unsafe (exec/eval), lossy (no decision audit) and lenient
(runs non-ready tasks). Everything that executes a model goes through `Runtime`, and it reports
what happened in a `RunLog` that the host writes to history in the same transaction.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException, WorkflowException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition as SpiffMessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.engine import dmn, overdue
from app.engine.errors import ProcessError, TaskStateError
from app.engine.evaluator import ExpressionError, RestrictedEvaluator
from app.engine.host_task import HostTask
from app.engine.loader import Bundle
from app.engine.task_walk import HostSubWorkflow, HostWorkflow, adopt_specs

# SpiffWorkflow attaches whole task data (case content) to its log records whenever its loggers sit
# below INFO, as they do by default (level NOTSET counts as 0). Pin them so no formatter can write it.
for _name in ("spiff.task", "spiff.workflow", "spiff.data", "spiff.dmn"):
    logging.getLogger(_name).setLevel(logging.INFO)

_RESTORING = threading.local()  # per restore: one UUID object per id (see _HostTaskConverter)


class _HostTaskConverter(TaskConverter):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """SpiffWorkflow's task converter (3.2.0) with the same result, restored with less work.

    - `DeepMerge.merge({}, parent.data)` (a task's data = its parent's, then its own changes) is written out
      for an empty target: each value as is, a dict, list or set shallow-copied, in the parent's order.
    - Each task is restored as a `HostTask` (SpiffWorkflow's task, its state changes logged only when heard).
    - During `Runtime.restore` each id string becomes one UUID object, shared by the task, its parent's
      `_children` and its children's `_parent`: equal values as before, but a dictionary look-up by a
      task's `_parent` or child id now finds its key by identity instead of calling `UUID.__eq__`."""

    def from_dict(self, dct: dict[str, Any], workflow: Any) -> Any:
        uuids: dict[str, UUID] | None = getattr(_RESTORING, "uuids", None)

        def uuid(text: str) -> UUID:
            if uuids is None:
                return UUID(text)
            found = uuids.get(text)
            if found is None:
                found = uuids[text] = UUID(text)
            return found

        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = HostTask(workflow, task_spec, state=dct["state"], id=uuid(dct["id"]))
        task._parent = uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = self.registry.restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)

        delta = dct.get("delta")
        if delta and task.parent is not None:
            data = _merged_into_empty(task.parent.data)
            data.update(self.registry.restore(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                if key in data:
                    del data[key]
        else:
            data = self.registry.restore(dct["data"])

        task.data = data

        return task


def _merged_into_empty(data: dict[Any, Any]) -> dict[Any, Any]:
    """`DeepMerge.merge({}, data)`: no key is in the empty dict, so each goes in, in `data`'s order, as is or,
    a dict, list or set, as `copy.copy` of it (the exact built-in types through their own `.copy()`, which is
    what copy.copy calls for them). Copying the dict keeps that order; the mutable values are then replaced."""
    merged = data.copy()
    for key, value in data.items():
        kind = type(value)
        if kind is dict or kind is list or kind is set:
            merged[key] = value.copy()
        elif isinstance(value, (dict, list, set)):
            merged[key] = copy.copy(value)
    return merged


SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, Task: _HostTaskConverter}))
_WORKFLOW_CONVERTER = SERIALIZER.registry.convert_to_dict[SERIALIZER.registry.typenames[BpmnWorkflow]].args[1].__self__
# The host's workflow and task classes serialise as SpiffWorkflow's own (same typename, same converter, same fields)
SERIALIZER.registry.typenames[HostWorkflow] = SERIALIZER.registry.typenames[BpmnWorkflow]
SERIALIZER.registry.typenames[HostSubWorkflow] = SERIALIZER.registry.typenames[BpmnSubWorkflow]
SERIALIZER.registry.typenames[HostTask] = SERIALIZER.registry.typenames[Task]
STATE_FORMAT = "mash-1"
_GATEWAYS = (ExclusiveGateway, InclusiveGateway, ParallelGateway)


@dataclass
class RunLog:
    """What one engine run did, for history: decisions, service calls, routes, completed steps."""

    decisions: list[tuple[str, dmn.DecisionResult]] = field(default_factory=list)
    service_calls: list[dict[str, Any]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[str, Any] = field(default_factory=dict)
    timers_fired: list[tuple[str, str, datetime | None]] = field(default_factory=list)  # (task id, BPMN id, due)


@dataclass(frozen=True)
class ReadyTask:
    id: str
    bpmn_id: str
    title: str
    role: str | None
    team: str | None
    agency: str | None
    due_at: str | None
    form: str | None
    ui_form: str | None
    instructions: str | None
    exclude_actors_of: tuple[str, ...]
    data: dict[str, Any]


def _is_instance_of_many(task: Any) -> bool:
    """One instance of a multi-instance activity (e.g. one agency's answer). Its data is its own:
    it reaches the case only through the activity's output collection, never by the shared names
    every instance writes (which would show one agency's answer as if it were the case's)."""
    parent = task.parent
    # the activity's successor is also a child of it in the task tree: only its own instances count
    return (
        parent is not None
        and isinstance(parent.task_spec, MultiInstanceTask)
        and task.task_spec.name == getattr(parent.task_spec, "task_spec", None)
    )


_ATOMS = frozenset((str, int, float, bool, type(None)))


def _snapshot(data: Any) -> Any:
    """`copy.deepcopy` of task data, kept only to compare with by value (`_note_changes`): dicts and lists of
    JSON values (what task data holds) are copied here without deepcopy's memo and per-object dispatch;
    anything else goes to deepcopy. Equal to deepcopy's copy under `==`; only shared references inside
    the data are not kept shared, which no comparison by value can see."""
    try:
        return _copy_json(data)
    except RecursionError:  # a structure that contains itself: deepcopy's memo handles it
        return copy.deepcopy(data)


def _copy_json(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _ATOMS else _copy_json(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _ATOMS else _copy_json(v) for v in value]
    if kind in _ATOMS:
        return value
    return copy.deepcopy(value)


def _is_timer(spec: Any) -> bool:
    definition = getattr(spec, "event_definition", None)
    definitions = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
    return any(isinstance(d, TimerEventDefinition) for d in definitions)


def _timer_due(task: Any) -> datetime | None:
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):
        value = value["next"] if value.get("cycles") != 0 else None
    return TimerEventDefinition.get_datetime(value) if value else None


class _Environment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """Routes every expression, script and service call to the restricted evaluator / host operations."""

    def __init__(self, evaluator: RestrictedEvaluator, operations: Mapping[str, Callable[..., Any]]):
        super().__init__({})
        self.evaluator = evaluator
        self.operations = operations

    def evaluate(
        self, expression: str, context: Mapping[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> Any:
        names = dict(context)
        names.update(external_context or {})
        return self.evaluator.evaluate(expression, names)

    def execute(self, script: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None) -> bool:
        self.evaluator.execute(script, context)
        return True

    def call_service(
        self,
        context: Any,
        operation_name: str | None = None,
        operation_params: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> str:
        operation = self.operations.get(operation_name or "")
        if operation is None:
            raise ProcessError(f"the host has no service operation {operation_name!r}")
        params = {name: value["value"] for name, value in (operation_params or {}).items()}
        return json.dumps(operation(**params))


class _ScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    def __init__(self, evaluator: RestrictedEvaluator, operations: Mapping[str, Callable[..., Any]], log: RunLog):
        super().__init__(environment=_Environment(evaluator, operations))
        self.evaluator = evaluator
        self.log = log

    def call_service(self, task: Any, **kwargs: Any) -> Any:  # Spiff's own version has a NameError in its except branch
        try:
            return self.environment.call_service(task.data, **kwargs)
        except (ProcessError, ExpressionError):
            raise
        except Exception as err:  # an operation failed: surface it on the task, never half-apply
            raise WorkflowTaskException(f"{type(err).__name__}: {err}", task=task, exception=err) from err


class FeelDecisionEngine:
    """Stands where Spiff expects its DMNEngine; evaluates FEEL tables and records every evaluation."""

    def __init__(self, table: dmn.DecisionTable):
        self.table = table
        self.decision_table = table

    def result(self, task: Any) -> dict[str, Any]:
        engine = task.workflow.script_engine
        result = dmn.evaluate_decision(self.table, task.data, engine.evaluator.evaluate)
        engine.log.decisions.append((task.task_spec.bpmn_id, result))
        return result.outputs


class Runtime:
    """One engine run over a bundle: start, restore, complete a task, fire timers, dump."""

    def __init__(
        self, bundle: Bundle, evaluator: RestrictedEvaluator, operations: Mapping[str, Callable[..., Any]] | None = None
    ):
        self.bundle = bundle
        self.log = RunLog()
        self.script_engine = _ScriptEngine(evaluator, operations or {}, self.log)
        self.evaluator = evaluator
        self._run_started = time.time()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, process_id: str, data: Mapping[str, Any]) -> BpmnWorkflow:
        spec = self.bundle.process_specs.get(process_id)
        if spec is None:
            raise ProcessError(f"no deployed process {process_id!r}")
        overdue.prepare(spec, self.bundle.subprocess_specs[process_id])  # the one overdue pattern (issue 16)
        adopt_specs(spec, *self.bundle.subprocess_specs[process_id].values())
        workflow = HostWorkflow(spec, self.bundle.subprocess_specs[process_id], script_engine=self.script_engine)
        workflow.get_next_task(state=TaskState.READY).set_data(**dict(data))
        self.log.changed.update(data)
        self._advance(workflow)
        return workflow

    def restore(self, process_id: str, state: str) -> BpmnWorkflow:
        dct = json.loads(state)
        if dct.pop("format", None) != STATE_FORMAT:
            raise ProcessError("stored instance state has an unknown format")
        registry = SERIALIZER.registry
        spec = self.bundle.process_specs[process_id]
        overdue.prepare(spec, self.bundle.subprocess_specs[process_id])  # the one overdue pattern (issue 16)
        adopt_specs(spec, *self.bundle.subprocess_specs[process_id].values())
        workflow = HostWorkflow(spec, self.bundle.subprocess_specs[process_id], deserializing=True)
        uuids: dict[str, UUID] = {}
        _RESTORING.uuids = uuids
        try:
            # mapping_from_dict(dct["tasks"], UUID, …), each key the same UUID object as its task's id
            tasks = {}
            for key, value in dct["tasks"].items():
                task = registry.restore(value, workflow=workflow)
                tasks[uuids.get(key) or UUID(key)] = task
            workflow.tasks = tasks
            workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
            _WORKFLOW_CONVERTER.set_default_attributes(workflow, dct)
            _WORKFLOW_CONVERTER.subprocesses_from_dict(dct["subprocesses"], workflow)
        finally:
            del _RESTORING.uuids
        workflow.adopt_subprocesses()
        workflow.bpmn_events = registry.restore(dct.pop("bpmn_events", []))
        workflow.script_engine = self.script_engine  # never the default, unrestricted engine
        return workflow

    @staticmethod
    def dump(workflow: BpmnWorkflow) -> str:
        """Instance state without the spec (the spec is stored once per deployed version)."""
        registry = SERIALIZER.registry
        dct = {
            "format": STATE_FORMAT,
            "data": registry.convert(workflow.data),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": _WORKFLOW_CONVERTER.mapping_to_dict(workflow.tasks),
            "root": str(workflow.task_tree.id),
            "subprocesses": _WORKFLOW_CONVERTER.mapping_to_dict(workflow.subprocesses),
            "bpmn_events": registry.convert(workflow.bpmn_events),
        }
        return json.dumps(dct, separators=(",", ":"))

    def complete_task(self, workflow: BpmnWorkflow, task_id: str, data: Mapping[str, Any]) -> None:
        task = self.find_task(workflow, task_id)
        if task is None:
            raise TaskStateError("no such task in this instance")
        if not task.task_spec.manual:
            raise TaskStateError("this task is not a user task")
        if task.state != TaskState.READY:
            raise TaskStateError(
                f"the task is {TaskState.get_name(task.state).lower()}, not ready: it cannot be completed"
            )
        before = _snapshot(task.data)
        task.set_data(**dict(data))
        try:
            task.run()
        except SpiffWorkflowException as err:
            raise self._process_error(err) from None
        if not _is_instance_of_many(task):
            self._note_changes(before, task.data)
        self._advance(workflow)

    def send_message(self, workflow: BpmnWorkflow, name: str, payload: Mapping[str, Any]) -> None:
        """Deliver a BPMN message into the running process (e.g. a partner's "escalate now")."""
        event = BpmnEvent(SpiffMessageEventDefinition(name), payload=dict(payload))
        try:
            workflow.send_event(event)
        except WorkflowException:
            raise TaskStateError(f"the process is not waiting for {name!r} at the moment") from None
        self._advance(workflow)

    def withdraw_tasks(self, workflow: BpmnWorkflow, case_data: Mapping[str, Any]) -> list[ReadyTask]:
        """Close ready user tasks whose `withdrawWhen` now holds (e.g. a late agency's request once the
        manager proceeds without it), completing each with its `withdrawWith` data. The diagram says
        when and with what; the host only asks after every run. Returns the tasks withdrawn."""
        withdrawn: list[ReadyTask] = []
        while True:
            for ready in self.ready_tasks(workflow, case_data):
                task = self.find_task(workflow, ready.id)
                properties = (task.task_spec.extensions or {}).get("properties", {}) or {}
                condition = properties.get("withdrawWhen")
                if not condition:
                    continue
                names = {**task.data, **case_data}
                try:
                    if not self.evaluator.evaluate(condition, names):
                        continue
                    data = (
                        self.evaluator.evaluate(properties["withdrawWith"], names)
                        if properties.get("withdrawWith")
                        else {}
                    )
                except ExpressionError as err:
                    raise ProcessError(
                        f"task {ready.bpmn_id}: withdrawWhen/withdrawWith: {err}", ready.bpmn_id
                    ) from None
                if not isinstance(data, Mapping):
                    raise ProcessError(
                        f"task {ready.bpmn_id}: withdrawWith must give a mapping of fields", ready.bpmn_id
                    )
                self.complete_task(workflow, ready.id, data)
                withdrawn.append(ready)
                break
            else:
                return withdrawn

    @staticmethod
    def stuck_steps(workflow: BpmnWorkflow) -> list[dict[str, Any]]:
        """Steps waiting on a hook that never fired: a multi-instance activity whose finished instances
        were never merged (the SpiffWorkflow restore bug, issue 11), or a called process that finished
        while its caller still waits. Reading only; `repair` fixes what this lists."""
        found = []
        for task in workflow.get_tasks(state=TaskState.STARTED):
            spec = task.task_spec
            if isinstance(spec, LoopTask):
                merged = set(task.internal_data.get("merged", []))
                unmerged = [
                    c for c in spec._instances(task) if c.state == TaskState.COMPLETED and str(c.id) not in merged
                ]
                if unmerged:
                    found.append(
                        {
                            "bpmn_id": spec.bpmn_id,
                            "task_id": str(task.id),
                            "kind": "unmerged_instances",
                            "instances": [str(c.id) for c in unmerged],
                        }
                    )
            elif isinstance(spec, SubWorkflowTask):
                sub = workflow.top_workflow.subprocesses.get(task.id)
                if sub is not None and sub.is_completed():
                    found.append(
                        {"bpmn_id": spec.bpmn_id, "task_id": str(task.id), "kind": "finished_call", "instances": []}
                    )
        return found

    def repair(self, workflow: BpmnWorkflow) -> list[dict[str, Any]]:
        """Deliver the missed hooks `stuck_steps` finds (merge each finished instance, return a finished
        call to its caller), then run the case on as it would have run. Returns what was repaired."""
        stuck = self.stuck_steps(workflow)
        for step in stuck:
            task = self.find_task(workflow, step["task_id"])
            if step["kind"] == "unmerged_instances":
                for child_id in step["instances"]:
                    task.task_spec.merge_child(workflow, self.find_task(workflow, child_id))
            else:
                task.task_spec._on_subworkflow_completed(workflow.top_workflow.subprocesses[task.id], task)
        if stuck:
            self._advance(workflow)
        return stuck

    def fire_timers(self, workflow: BpmnWorkflow) -> None:
        workflow.refresh_timers()
        self._advance(workflow)

    # -- reading ---------------------------------------------------------------------------
    @staticmethod
    def find_task(workflow: BpmnWorkflow, task_id: str) -> Any:
        try:
            return workflow.get_task_from_id(UUID(str(task_id)))
        except (TaskNotFoundException, ValueError, KeyError):
            return None

    def ready_tasks(self, workflow: BpmnWorkflow, case_data: Mapping[str, Any] | None = None) -> list[ReadyTask]:
        """Ready user tasks with their role, team, agency and due time.

        `case_data` (the case as it stands now) overlays each task's own copy when the task's
        properties are evaluated, so a RAG raised on another branch moves every open due time.
        """
        tasks = []
        for task in workflow.get_tasks(state=TaskState.READY, manual=True):
            names = {**task.data, **(case_data or {})}
            spec = task.task_spec
            extensions = spec.extensions or {}
            properties = extensions.get("properties", {}) or {}
            exclude = properties.get("excludeActorsOf") or ""
            tasks.append(
                ReadyTask(
                    id=str(task.id),
                    bpmn_id=spec.bpmn_id,
                    # a `title` property (an expression) names this task instance, e.g. "Overdue: " + overdue["task"]
                    title=self._property(task, names, properties, "title") or spec.bpmn_name or spec.bpmn_id,
                    # a `role` property (an expression) overrides the lane, e.g. an audit task per named manager
                    role=self._property(task, names, properties, "role") or spec.lane,
                    team=self._property(task, names, properties, "team"),
                    agency=self._property(task, names, properties, "agency"),
                    due_at=self._property(task, names, properties, "dueAt"),
                    form=properties.get("formJsonSchemaFilename"),
                    ui_form=properties.get("formUiSchemaFilename"),
                    instructions=extensions.get("instructionsForEndUser"),
                    exclude_actors_of=tuple(p.strip() for p in exclude.split(",") if p.strip()),
                    data=task.data,
                )
            )
        return tasks

    def _property(self, task: Any, names: Mapping[str, Any], properties: Mapping[str, str], name: str) -> Any:
        source = properties.get(name)
        if not source:
            return None
        try:
            value = self.evaluator.evaluate(source, names)
        except ExpressionError as err:
            raise ProcessError(
                f"task {task.task_spec.bpmn_id}: property {name}: {err}", task.task_spec.bpmn_id
            ) from None
        return None if value is None else str(value)

    @staticmethod
    def waiting_timers(workflow: BpmnWorkflow) -> list[tuple[str, str, datetime]]:
        """(task id, BPMN id, due instant) of every waiting timer, including event-based gateways."""
        found = []
        for task in workflow.get_tasks(state=TaskState.WAITING):
            if not _is_timer(task.task_spec):
                continue
            due = _timer_due(task)
            if due is not None:
                found.append((str(task.id), task.task_spec.bpmn_id, due))
        return found

    def follow_case_dates(self, workflow: BpmnWorkflow, case_data: Mapping[str, Any]) -> None:
        """Waiting date timers whose expression is a pure function of case data re-read it, so raising
        the RAG (a new `outcome_due_at`) moves the alerts as well as the due times shown. Expressions
        that call now() were decided when their task started and are left alone. An event-based gateway's
        one date timer follows the case the same way (e.g. the out-of-hours watch, spec §11.3)."""
        for task in workflow.get_tasks(state=TaskState.WAITING):
            definition: Any = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, MultipleEventDefinition):
                dates = [d for d in definition.event_definitions if type(d) is TimeDateEventDefinition]
                definition = dates[0] if len(dates) == 1 else None
            if type(definition) is not TimeDateEventDefinition or task.internal_data.get("event_fired"):
                continue
            if "now(" in definition.expression or task.internal_data.get("event_value") is None:
                continue
            try:
                value = self.evaluator.evaluate(definition.expression, {**task.data, **case_data})
            except ExpressionError:
                continue
            if isinstance(value, str) and value != task.internal_data.get("event_value"):
                task.internal_data["event_value"] = value

    @classmethod
    def next_timer_due(cls, workflow: BpmnWorkflow) -> datetime | None:
        due = [at for _, _, at in cls.waiting_timers(workflow)]
        return min(due) if due else None

    # -- internals -------------------------------------------------------------------------
    def _advance(self, workflow: BpmnWorkflow) -> None:
        before: dict[UUID, Any] = {}

        def will_complete(task: Any) -> None:
            if not isinstance(task.task_spec, _GATEWAYS):  # did_complete never reads a gateway's copy
                before[task.id] = _snapshot(task.data)  # a script may change a list in place

        def did_complete(task: Any) -> None:
            spec = task.task_spec
            if isinstance(spec, _GATEWAYS):
                chosen = [
                    c.task_spec.bpmn_name or c.task_spec.bpmn_id
                    for c in task.children
                    if c.has_state(TaskState.DEFINITE_MASK) and getattr(c.task_spec, "bpmn_id", None)
                ]
                if len(spec.outputs) > 1:  # a split chose a path; a merge has nothing to record
                    self.log.routes.append({"bpmn_id": spec.bpmn_id, "name": spec.bpmn_name, "to": chosen})
                return  # a join merges branch copies; it changes nothing of its own
            if _is_timer(spec):  # fired in this run: by the scheduler, or at once when already due
                self.log.timers_fired.append((str(task.id), spec.bpmn_id, _timer_due(task)))
            if not _is_instance_of_many(task):
                self._note_changes(before.pop(task.id, {}), task.data)

        try:
            workflow.do_engine_steps(will_complete_task=will_complete, did_complete_task=did_complete)
            workflow.refresh_timers()
            workflow.do_engine_steps(will_complete_task=will_complete, did_complete_task=did_complete)
        except SpiffWorkflowException as err:
            raise self._process_error(err) from None
        # A multi-instance activity completes when its last instance does, outside the engine-step
        # callbacks: what it adds to the case is its output collection.
        for task in workflow.get_tasks(
            state=TaskState.COMPLETED, updated_ts=self._run_started, spec_class=MultiInstanceTask
        ):
            if task.parent is not None:
                self._note_changes(task.parent.data, task.data)
        errored = workflow.get_tasks(state=TaskState.ERROR)
        if errored:
            raise ProcessError(f"task {errored[0].task_spec.bpmn_id} failed", errored[0].task_spec.bpmn_id)

    def _note_changes(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        for key, value in after.items():
            if key not in before or before[key] != value:
                self.log.changed[key] = value

    @staticmethod
    def _process_error(err: Exception) -> ProcessError:
        task = getattr(err, "task", None)
        bpmn_id = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
        message = str(err)
        cause = getattr(err, "exception", None)
        if isinstance(cause, (dmn.DecisionError, ProcessError, ExpressionError)):
            message = str(cause)
        where = f" at {task.task_spec.bpmn_name or bpmn_id}" if task is not None else ""
        return ProcessError(
            f"the process could not continue{where}: {message}", bpmn_id, getattr(err, "line_number", None) or None
        )
