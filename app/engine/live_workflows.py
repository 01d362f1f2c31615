"""A per-worker cache of live workflows: a case's next run continues from the object the last run left (issue 17).

Why: restoring a case (`Runtime.restore`: the JSON text of the whole task tree, ~100 tasks for the front door,
parsed and rebuilt) was about 30 % of a host run. The worker that last wrote a case still holds the workflow
whose dump it committed; continuing from that object skips the restore.

Two workers holding one case. Each worker (process) has its own cache and nothing is shared between them.
The database row stays the only truth: a live workflow is used only when it is provably the state the
database holds now, and otherwise the case is restored from the row as it always was:

- `keep` is called only after the transaction that wrote the state has committed (never before: a run that
  fails or rolls back keeps nothing), with the exact text it wrote; the workflow is not touched after that
  dump (app/services/cases/persist.py dumps last among the engine calls of a run).
- `take` gives the workflow back only if it was built on the same bundle object (identity: another version,
  a re-parsed bundle or a restarted worker never matches) and its text equals, character for character, the
  state just read from the database in the taking transaction. The text holds random task ids and
  timestamps, so any other worker's write (or an earlier database's) never matches: worker A keeps its run,
  worker B completes the next task and commits, worker A's next read returns B's text, A's entry misses,
  A restores B's state. If A's read was stale, A's own commit fails on the row's lock version as before.
- `take` removes the entry, so two threads of one worker never share a workflow object; a run that fails
  after taking drops it with everything else it changed, and the next run restores.

A taken workflow is made what a restore would have built (`as_restored`): the same subprocess order, the
same waiting-event registry in the same order, every task's data keys in restore order. Restore-only set-up
on the spec objects (the overdue wiring, the host gateway classes) is done once per bundle object, so a
workflow built on that bundle already had it. The caller binds the new run's script engine.

The bound is a count of cases: a front-door case of 90-130 tasks is 0.3-0.5 MB of Python objects plus its state
text (50-75 KB), so the default 32 holds at most ~20 MB per worker. Size 0 disables the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.util.task import TaskState

_WAITING = TaskState.WAITING


class LiveWorkflows:
    """A thread-safe LRU of (bundle, committed state text, workflow) by instance id."""

    def __init__(self, size: int = 32) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, tuple[Any, str, Any]] = OrderedDict()
        self._size = max(0, size)
        self.hits = 0
        self.misses = 0

    @property
    def size(self) -> int:
        return self._size

    def resize(self, size: int) -> None:
        """Change the bound, dropping the least recently kept entries beyond it (0 empties and disables)."""
        with self._lock:
            self._size = max(0, size)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def take(self, instance_id: int, bundle: Any, state: str) -> Any | None:
        """The live workflow of this case if it was built on `bundle` and its committed text is `state`;
        the entry is removed either way. None: restore from `state`."""
        with self._lock:
            entry = self._entries.pop(instance_id, None)
            if entry is None or entry[0] is not bundle or entry[1] != state:
                self.misses += 1
                return None
            self.hits += 1
        return entry[2]

    def keep(self, instance_id: int, bundle: Any, state: str, workflow: Any) -> None:
        """Remember the workflow whose dump is `state`, after the transaction writing `state` committed."""
        if self._size == 0:
            return
        workflow.script_engine = None  # drop the finished run (its log, its operations); take rebinds
        with self._lock:
            if self._size == 0:
                return
            self._entries.pop(instance_id, None)
            self._entries[instance_id] = (bundle, state, workflow)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def discard(self, instance_id: int) -> None:
        with self._lock:
            self._entries.pop(instance_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, instance_id: object) -> bool:
        return instance_id in self._entries


def as_restored(workflow: Any) -> Any:
    """Make a live workflow what `Runtime.restore` would build from its dump, where the two can differ.

    SpiffWorkflow 3.2's restore (`WorkflowConverter.subprocesses_from_dict`, the task converter) orders
    `subprocesses` by walking the parent tasks, registers the waiting catching events in task order, and
    builds a task's data as its parent's keys followed by the task's own new keys. A live workflow has them
    in the order things happened. Each decides an order something is done in (engine steps of sibling
    subprocesses, which waiting event catches first, the order of changed fields), so the live order is
    replaced by the restore order, in place. Returns the workflow."""
    subprocesses = workflow.subprocesses
    if subprocesses:
        ordered: dict[Any, Any] = {}
        _subprocesses_in_restore_order(workflow, subprocesses, ordered)
        if len(ordered) == len(subprocesses) and list(ordered) != list(subprocesses):
            subprocesses.clear()
            subprocesses.update(ordered)
    waiting: dict[Any, Any] = {}
    for wf in (workflow, *subprocesses.values()):
        tasks = wf.tasks
        get = tasks.get
        for task in tasks.values():
            if task._state == _WAITING and isinstance(task.task_spec, CatchingEvent):
                waiting[task.id] = task
            parent = get(task._parent) if task._parent is not None else None
            if parent is not None:
                _data_in_restore_order(task.data, parent.data)
    registered = workflow.event_manager.tasks
    if list(registered) != list(waiting) or any(registered[k] is not t for k, t in waiting.items()):
        registered.clear()
        registered.update(waiting)
    return workflow


def _subprocesses_in_restore_order(wf: Any, subprocesses: dict[Any, Any], into: dict[Any, Any]) -> None:
    # subprocesses_from_dict: each workflow's tasks in order; a subprocess's own subprocesses right after it
    for task in wf.tasks.values():
        if task.id in subprocesses and task.id not in into and isinstance(task.task_spec, SubWorkflowTask):
            sub = subprocesses[task.id]
            into[task.id] = sub
            _subprocesses_in_restore_order(sub, subprocesses, into)


def _data_in_restore_order(data: dict[Any, Any], parent: dict[Any, Any]) -> None:
    """Restore builds a task's data as `_merged_into_empty(parent)` then its own changes: the parent's keys in
    the parent's order (those the task still has), then the task's other keys in the task's order."""
    position = 0
    keys = list(data)
    n = len(keys)
    for key in parent:
        if key in data:
            if position >= n or keys[position] != key:
                break
            position += 1
    else:
        # every parent key the task has is already first, in order; restore appends the rest in the task's order
        return
    ordered = [k for k in parent if k in data]
    ordered += [k for k in keys if k not in parent]
    items = [(k, data[k]) for k in ordered]
    data.clear()
    data.update(items)


def differences(live: Any, restored: Any) -> list[str]:
    """Where a live workflow is built otherwise than `restored` (a restore of its dump): the subprocesses, the
    registered waiting events, each task's class, state and data keys in order. Empty when they agree. For
    the safety net of the test suite (`LIVE_WORKFLOWS_VERIFY`), and the tests."""
    found = []
    if list(live.subprocesses) != list(restored.subprocesses):
        found.append("subprocesses")
    if list(live.event_manager.tasks) != list(restored.event_manager.tasks):
        found.append("waiting events")
    pairs = [(live, restored)] + [(live.subprocesses[k], restored.subprocesses.get(k)) for k in live.subprocesses]
    for mine, theirs in pairs:
        if theirs is None or list(mine.tasks) != list(theirs.tasks):
            found.append("tasks")
            continue
        for task_id, task in mine.tasks.items():
            other = theirs.tasks[task_id]
            if (
                type(task) is not type(other)
                or task._state != other._state
                or list(task.data) != list(other.data)
                or list(task.internal_data) != list(other.internal_data)
            ):
                found.append(f"task {task.task_spec.name}")
    return found
