"""SpiffWorkflow's `Task` with less work per state change and per data inheritance, the same results (issue 17).

Why: `Task._set_state` (SpiffWorkflow 3.2.0) runs on every state change, ≈ 45 times per user-task completion
on the front door, and each time formats a message, builds a dict of extras (`collect_log_extras`: the spec
names, the parent look-up, the state name) and calls `logger.info`, which makes a `LogRecord` (a stack walk
for the caller, a clock read, a dozen attributes) before finding that no handler wants it. That was about a
sixth of a step. The host pins the `spiff.*` loggers at INFO (runtime.py) and installs no handler of its own,
so in production those records reach nobody.

`HostTask._set_state` changes the task exactly as SpiffWorkflow's does (`last_state_change`, `_state`; the
`elapsed` figure exists only for the log record) and builds the record only when it could reach something
(`records_heard`): whenever a handler, a logger filter, a custom record factory or the "no handlers" warning
could see it, it runs SpiffWorkflow's own method instead, so every configured log receives exactly what it
did. `HostTask._inherit_data` skips the merge of a parent's data that is already equal to the task's
(see there). Everything else is SpiffWorkflow's `Task`: no new attributes, the same serialised form (runtime.py
registers it under the typename "Task"), the same shared `thread_id_pool`.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

import SpiffWorkflow.task as spiff_task
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

_LOGGER = spiff_task.logger  # "spiff.task", the logger `Task._set_state` writes to
_INFO = logging.INFO
_DEBUG = logging.DEBUG
_PREDICTED = TaskState.PREDICTED_MASK
_READY = TaskState.READY


def records_heard(level: int, logger: logging.Logger = _LOGGER) -> bool:
    """Whether a record `logger.log(level, …)` would be seen by anything: the steps of `Logger.log` ->
    `_log` -> `makeRecord` (a custom record factory) -> `handle` (the logger's own filters) -> `callHandlers`
    (every handler up the propagation chain whose level admits it, else the last-resort handler or the
    one-off "No handlers could be found" warning). False only when the record would be made and dropped."""
    if not logger.isEnabledFor(level):
        return False
    if logging.getLogRecordFactory() is not logging.LogRecord:
        return True
    if logger.disabled:
        return False
    if logger.filters:
        return True
    found = False
    current: Any = logger
    while current is not None:
        for handler in current.handlers:
            found = True
            if level >= handler.level:
                return True
        current = current.parent if current.propagate else None
    if found:
        return False
    last_resort = logging.lastResort
    return last_resort is None or level >= last_resort.level


class HostTask(Task):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """SpiffWorkflow's task, its state changes logged only when a log could receive them."""

    def _set_state(self, value: int) -> None:
        # Task._set_state (3.2.0): a change -> elapsed, last_state_change, _state, logger.info(…); no change ->
        # logger.debug(…). The log calls (and their arguments) only when a record could be received.
        if value != self._state:  # type: ignore[has-type]  # (SpiffWorkflow's attribute, untyped)
            if records_heard(_INFO):
                Task._set_state(self, value)
                return
            self.last_state_change = time.time()
            self._state = value
        elif records_heard(_DEBUG):
            Task._set_state(self, value)

    def _inherit_data(self) -> None:
        # Task._inherit_data (3.2.0): `self.data = DeepMerge.merge(self.data, self.parent.data)`, which returns
        # `self.data` itself, changed in place. A waiting task re-inherits its parent's data on every update
        # (after every step), almost always unchanged, and the merge compares key by key in Python. When the
        # two dicts are equal (`==`: the same keys, each pair identical or equal) the merge changes nothing:
        # it skips every key whose values compare equal, and a pair that is identical but not equal under `==`
        # (a float NaN) is reassigned to itself; only a dict, list or set whose `==` says it differs from
        # itself could be copied there, and task data are JSON values (the state is stored as JSON).
        parent_data: Any = self.parent.data
        data: Any = self.data  # type: ignore[has-type]  # (SpiffWorkflow's attribute, untyped)
        if type(data) is dict and type(parent_data) is dict and data == parent_data:
            return
        self.data = DeepMerge.merge(data, parent_data)

    def _add_child(self, task_spec: Any, state: int = TaskState.MAYBE) -> HostTask:
        # Task._add_child (3.2.0) as written, the child a HostTask (SpiffWorkflow names the class there)
        if self._state & _PREDICTED and state & _PREDICTED == 0:
            raise WorkflowException("Attempt to add non-predicted child to predicted task", task_spec=self.task_spec)
        task = HostTask(self.workflow, task_spec, self, state=state)
        task.thread_id = self.thread_id
        if state == _READY:
            task._ready()
        return task

    def _assign_new_thread_id(self, recursive: bool = True) -> int:
        # Task._assign_new_thread_id increments `self.__class__.thread_id_pool`: on a subclass that would start a
        # second pool. The pool stays SpiffWorkflow's one (BPMN specs never call this; kept for exactness).
        Task.thread_id_pool += 1
        self.thread_id = Task.thread_id_pool
        if not recursive:
            return cast(int, self.thread_id)
        for child in self:
            child.thread_id = self.thread_id
        return cast(int, self.thread_id)


def adopt_tasks(workflow: Any) -> None:
    """Make a new workflow's tasks HostTasks: `Workflow.__init__` creates the root (and the tasks it predicts) as
    `Task` by name, with SpiffWorkflow's own code; afterwards they are the same objects under the subclass."""
    for task in workflow.tasks.values():
        if type(task) is Task:
            task.__class__ = HostTask
