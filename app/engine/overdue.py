"""One overdue pattern: a "Work overdue" event sub-process that the host starts when a user task passes its due time.

Why (issue 16): each time-bound task used to carry its own copy of the pattern (a non-interrupting boundary timer at
the task's due time, an "Overdue: <task>" review for the MASH manager, an end event): 23 copies made the diagram
unreadable for a service manager, and SpiffWorkflow walks every boundary timer on every step. The host already knows
each waiting user task's due time (its `dueAt`), so it says when a task is late, once, and the diagram says what
happens then, once, where a service manager sees and edits it.

The diagram side: one event sub-process (`triggeredByEvent="true"`) directly in a process, whose start event
(`isInterrupting="false"`) catches the message `task_overdue`; `spiffworkflow:messageVariable` names the data
the message lands in (e.g. `overdue`). A process without such an event sub-process gets no overdue messages.

The host side (app/services: the sweep and `persist_run`): when a ready user task of that process has a `dueAt`
that has passed, it sends the message once for that task instance (`send` marks the task in the engine state,
saved in the same transaction as the review the message starts), with a payload that says which task, who holds it
and since when. A task opts out with the property `overdueReview` = an expression that gives false.

What SpiffWorkflow 3.2 does and does not do here (tests/engine/test_overdue_pattern.py):
- a message start event of an event sub-process is a "trigger spec" of the process's start task; each message
  starts a new instance of the sub-process beside the running work (the work is never interrupted), with a copy
  of the process's start data plus the payload in the message variable, so several reviews can be open at once;
- the process finishes only when every started sub-process has finished (its end join waits for all branches);
- but the first trigger also connects the start task to the sub-process *in the shared spec* (`trigger_wf`), so
  every case started afterwards from the same spec objects would open an instance at once and never finish.
  `wire` makes that connection's other half beforehand (the sub-process knows the start task as its input, and
  ends in the process's end join), so the trigger leaves the start task alone: idempotent, on any spec objects.
- only the top process's event sub-processes are started by a message (`EventManager.update_collaboration`),
  so the host sends only for tasks that run directly in the process a case was started with (`eligible`): a
  called process's tasks get no overdue review.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from app.engine.errors import ProcessError
from app.engine.evaluator import ExpressionError

OVERDUE_MESSAGE = "task_overdue"
OPT_OUT_PROPERTY = "overdueReview"
SENT_MARK = "overdue_review_sent"  # in the late task's internal_data: the message was sent for this task instance

_NO_LISTENER = object()


@dataclass(frozen=True)
class Listener:
    """The event sub-process of a process that catches `task_overdue`."""

    subprocess_id: str  # the event sub-process's BPMN id (and its spec name)
    start_id: str  # its start event's BPMN id
    variable: str | None  # the start event's messageVariable: where the payload lands


def listener(spec: Any, subprocess_specs: Mapping[str, Any]) -> Listener | None:
    """The process's "Work overdue" event sub-process, or None when the diagram has none. Cached on the spec."""
    found = spec.__dict__.get("_mash_overdue_listener", _NO_LISTENER)
    if found is not _NO_LISTENER:
        return cast("Listener | None", found)
    found = None
    for name in getattr(spec.start, "trigger_specs", []) or []:
        sub_spec = subprocess_specs.get(name)
        for start in getattr(sub_spec, "bpmn_start_events", []) if sub_spec is not None else []:
            definition = getattr(start, "event_definition", None)
            if isinstance(definition, MessageEventDefinition) and definition.name == OVERDUE_MESSAGE:
                found = Listener(name, start.bpmn_id, getattr(definition, "message_var", None))
                break
        if found is not None:
            break
    spec._mash_overdue_listener = found
    return cast("Listener | None", found)


def wire(spec: Any, found: Listener) -> None:
    """Make the trigger connection beforehand so SpiffWorkflow never changes the shared spec (see the module doc)."""
    task_spec = spec.task_specs.get(found.subprocess_id)
    if task_spec is None:
        raise ProcessError(f"the event sub-process {found.subprocess_id!r} is not in the process", found.subprocess_id)
    start = spec.start
    if start.name not in task_spec._inputs:
        task_spec._inputs.append(start.name)  # `inputs` is a computed list of names: append to the names
    if spec.end not in task_spec.outputs:
        task_spec.connect(spec.end)


def prepare(spec: Any, subprocess_specs: Mapping[str, Any]) -> None:
    """Wire the process's overdue listener, if it has one, before any case runs on these spec objects: a case
    restored with a started review needs the wiring as much as the first trigger does. Idempotent and cheap."""
    if spec.__dict__.get("_mash_overdue_wired"):
        return
    found = listener(spec, subprocess_specs)
    if found is not None:
        wire(spec, found)
    spec._mash_overdue_wired = True


def eligible(runtime: Any, workflow: Any, task_id: str, case_data: Mapping[str, Any]) -> bool:
    """Whether this ready user task gets an overdue review when late: it runs directly in the process that has the
    listener (not in a called process or an event sub-process), was not sent already, and has not opted out."""
    task = runtime.find_task(workflow, task_id)
    if task is None or task.workflow is not workflow or task.internal_data.get(SENT_MARK):
        return False
    properties = (task.task_spec.extensions or {}).get("properties", {}) or {}
    source = properties.get(OPT_OUT_PROPERTY)
    if not source:
        return True
    try:
        return bool(runtime.evaluator.evaluate(source, {**task.data, **case_data}))
    except ExpressionError as err:
        raise ProcessError(
            f"task {task.task_spec.bpmn_id}: property {OPT_OUT_PROPERTY}: {err}", task.task_spec.bpmn_id
        ) from None


def is_due(due_at: str | None, now: datetime) -> bool:
    """Whether a task's due time (its evaluated `dueAt`) has come. Like the inbox, a time without an offset or
    one that is not a time at all is no due time (the inbox shows none, so nothing is ever late)."""
    try:
        due = datetime.fromisoformat(str(due_at)) if due_at else None
    except ValueError:
        return False
    return due is not None and due.tzinfo is not None and due <= now


def send(runtime: Any, workflow: Any, found: Listener, task_id: str, payload: Mapping[str, Any]) -> list[str]:
    """Start one instance of the event sub-process for the late task, and mark the task so it is never sent again.
    Both live in the engine state, which the host saves in the same transaction as the review task's row.
    Returns the ids of the user tasks the sub-process opened (the review), for the history to link them."""
    task = runtime.find_task(workflow, task_id)
    wire(workflow.spec, found)
    before = {t.id for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    task.internal_data[SENT_MARK] = True
    runtime.send_message(workflow, OVERDUE_MESSAGE, dict(payload))
    return [str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.id not in before]


def local_names(found: Listener | None) -> frozenset[str]:
    """Names that belong to one started sub-process, never to the case: each open review keeps its own payload
    (the case data is shared by every branch, so a second late task would otherwise rename the first review)."""
    return frozenset({found.variable}) if found is not None and found.variable else frozenset()
