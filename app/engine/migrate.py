"""Move a running instance to a newer version of its process, keeping its tasks and timers.

Why not SpiffWorkflow's `migrate_workflow`: it resets READY/WAITING branches, so every open task
gets a new id (the inbox, claims and history would point at tasks that no longer exist) and every
timer restarts from the migration time (due times would be wrong). Instead the stored state is
restored against the new version's spec when every task it holds still exists there, with the
same kind; tasks the old version had only *predicted* are dropped and the future is predicted
again from the new diagram. Open tasks, their ids and their timers' due instants are kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.util.task import TaskState

from app.engine.loader import Bundle
from app.engine.task_walk import spiff_class

_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE


@dataclass(frozen=True)
class MigrationCheck:
    can_move: bool
    reason: str
    active: tuple[str, ...] = ()


def _kind(spec: Any) -> str:
    # the parsed class, not the host's: a version whose bundle has run a case has its gateways adopted
    return spiff_class(spec).__name__ if spec is not None else "missing"


def _tasks_fit(
    tasks: dict[str, Any], old_specs: Any, new_specs: Any, where: str
) -> tuple[list[str], list[str], list[str]]:
    """(problems, active task names, predicted task ids to drop)."""
    problems: list[str] = []
    active: list[str] = []
    drop: list[str] = []
    for task_id, task in tasks.items():
        name, state = task["task_spec"], task["state"]
        new = new_specs.task_specs.get(name)
        if state & _ACTIVE:
            active.append(name)
        if new is None:
            if state & _PREDICTED:
                drop.append(task_id)
            elif state & _ACTIVE:
                problems.append(f"its open step {name}{where} is not in the new version")
            else:
                problems.append(f"its completed step {name}{where} is not in the new version")
        elif state & (_ACTIVE | TaskState.FINISHED_MASK) and old_specs is not None:
            old = old_specs.task_specs.get(name)
            if old is not None and _kind(old) != _kind(new):
                problems.append(f"the step {name}{where} changed from {_kind(old)} to {_kind(new)}")
    return problems, active, drop


def _drop(tasks: dict[str, Any], ids: list[str]) -> None:
    """Remove predicted tasks (and everything under them) that the new spec no longer has."""
    stack = list(ids)
    while stack:
        task_id = stack.pop()
        task = tasks.pop(task_id, None)
        if task is None:
            continue
        stack.extend(task.get("children") or [])
        parent = tasks.get(task.get("parent"))
        if parent is not None and task_id in parent.get("children", []):
            parent["children"].remove(task_id)


def check_and_rebase(state: str, process_id: str, old: Bundle, new: Bundle) -> tuple[MigrationCheck, str | None]:
    """Whether the instance state fits the new version; if so, the state to restore against it."""
    if process_id not in new.process_specs:
        return MigrationCheck(False, f"the new version has no process {process_id!r}"), None
    dct = json.loads(state)
    problems, active, drop = _tasks_fit(
        dct["tasks"], old.process_specs.get(process_id), new.process_specs[process_id], ""
    )
    _drop(dct["tasks"], drop)
    new_subs = new.subprocess_specs.get(process_id, {})
    old_subs = old.subprocess_specs.get(process_id, {})
    for _sub_id, sub in (dct.get("subprocesses") or {}).items():
        spec_name = sub.get("spec")
        new_spec = new_subs.get(spec_name)
        if new_spec is None:
            problems.append(f"the sub-process {spec_name} it is in is not in the new version")
            continue
        sub_problems, sub_active, sub_drop = _tasks_fit(
            sub["tasks"], old_subs.get(spec_name), new_spec, f" (in {spec_name})"
        )
        problems += sub_problems
        active += sub_active
        _drop(sub["tasks"], sub_drop)
    active_ids = tuple(sorted(set(active) - {"Start", "End"}))
    if problems:
        return MigrationCheck(False, "; ".join(problems[:5]), active_ids), None
    return MigrationCheck(True, "every open step is in the new version", active_ids), json.dumps(
        dct, separators=(",", ":")
    )


def repredict(workflow: Any) -> None:
    """Predict the future again from each open task, so the new diagram's paths are followed."""
    for task in list(workflow.get_tasks(state=_ACTIVE)):
        for child in list(task.children):
            if child.has_state(_PREDICTED):  # what the old diagram said would come next
                child.workflow._remove_task(child.id)
        task.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)
