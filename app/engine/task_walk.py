"""SpiffWorkflow's task-tree walks, done with less Python per task (issue 17).

Why: SpiffWorkflow 3.2 walks the whole task tree many times per step. After every task it runs, the
workflow re-updates every WAITING task (`Workflow.update_waiting_tasks`, a walk), each waiting parallel
join looks for its own tasks (`get_tasks(spec_name=…)`, a walk), and `do_engine_steps` lists the READY
tasks (a walk) on every pass. On the front door (≈ 125 tasks) those walks were over half of a step, and
most of their cost was the iterator's bookkeeping, not the tree: `list.pop(0)`, a new list per node
(`children + task_list`), the `parent` / `children` properties (a dict look-up keyed by a UUID, whose
hash is a Python method) and the depth counter's climb back up the tree after every leaf.

`TaskWalk` is the same walk as `TaskIterator` / `BpmnTaskIterator` in depth-first mode (the only mode the
engine uses), step for step: the same tasks in the same order, the same pruning (a task's children are
visited when its state is at least the filter's minimum, or it has a subprocess), the same descent into
subprocesses, the same `end_at_spec` and `max_depth` cut-offs with the same depth counter, the same
filter object deciding what is returned, and it is just as lazy: each task's state and children are read
when the walk reaches it, so `update_waiting_tasks` (which changes the tree while it walks) sees exactly
what SpiffWorkflow's walk would. Only the data structures differ: a stack with the next task at its end,
children and parents read from `workflow.tasks` directly.

`HostWorkflow` / `HostSubWorkflow` are SpiffWorkflow's workflow classes using it for `get_tasks*` and
`update_waiting_tasks`; their state serialises exactly as the base classes' (same typename, same fields).
tests/engine/test_task_walk.py compares every walk with SpiffWorkflow's own on real front-door trees.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any, cast

from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.bpmn.specs.defaults import ParallelGateway as DefaultParallelGateway
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskFilter, BpmnTaskIterator
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskFilter, TaskIterator, TaskState

from app.engine.host_task import adopt_tasks

_PREDICTED = TaskState.PREDICTED_MASK
_DEFINITE = TaskState.DEFINITE_MASK
_FINISHED = TaskState.FINISHED_MASK
_WAITING = TaskState.WAITING
_NOT_FINISHED = TaskState.NOT_FINISHED_MASK


class TaskWalk:
    """`TaskIterator` (bpmn=False) or `BpmnTaskIterator` (bpmn=True), depth-first, with the same results."""

    __slots__ = (
        "_matches",
        "_state",
        "bpmn",
        "depth",
        "end_at_spec",
        "max_depth",
        "min_state",
        "skip_subprocesses",
        "stack",
        "task_filter",
    )

    def __init__(
        self,
        task: Any,
        task_filter: Any,
        end_at_spec: str | None = None,
        max_depth: int = 1000,
        bpmn: bool = True,
        skip_subprocesses: bool = False,
    ) -> None:
        self.task_filter = task_filter
        self.end_at_spec = end_at_spec
        self.max_depth = max_depth
        self.bpmn = bpmn
        self.skip_subprocesses = skip_subprocesses
        self.stack = [task]  # TaskIterator.task_list reversed: the next task is the last item
        self.depth = 0
        state = task_filter.state
        if state & _PREDICTED:  # as TaskIterator.__init__
            self.min_state = TaskState.MAYBE
        elif state & _DEFINITE:
            self.min_state = TaskState.FUTURE
        else:
            self.min_state = TaskState.COMPLETED
        self._state = state
        self._matches = task_filter.matches

    def __iter__(self) -> TaskWalk:
        return self

    def __next__(self) -> Any:
        # TaskIterator.__next__: `task = self._next()` until the filter matches; `has_state(state)` is the
        # filter's first test, checked here first so most tasks never reach the filter's method call
        stack = self.stack
        state = self._state
        matches = self._matches
        min_state = self.min_state
        max_depth = self.max_depth
        end_at_spec = self.end_at_spec
        bpmn = self.bpmn
        while True:
            if not stack:
                raise StopIteration()
            task = stack.pop()
            # -- TaskIterator._next / BpmnTaskIterator._next
            subprocess = None
            if bpmn:
                subprocesses = task.workflow.top_workflow.subprocesses
                if subprocesses:
                    subprocess = subprocesses.get(task.id)
            children_ids = task._children
            if (
                (children_ids or subprocess is not None)
                and (task._state >= min_state or subprocess is not None)
                and self.depth < max_depth
                and task.task_spec.name != end_at_spec
            ):
                get = task.workflow.tasks.get
                # depth first: the children (after the subprocess's root, if any) come next, in order
                for child_id in reversed(children_ids):
                    stack.append(get(child_id))
                if subprocess is not None and not (
                    self.skip_subprocesses or (task._state >= _FINISHED and self.task_filter.state <= _FINISHED)
                ):
                    stack.append(subprocess.task_tree)
                self.depth += 1  # TaskIterator._update_depth, depth first
            elif stack:
                # TaskIterator._handle_leaf_depth: climb from this task's parent to the next task's parent
                following = stack[-1]
                ancestor = following.workflow.tasks.get(following._parent)
                current = task.workflow.tasks.get(task._parent)
                depth = self.depth
                while current is not None and current is not ancestor:
                    current = current.workflow.tasks.get(current._parent)
                    depth -= 1
                self.depth = depth
            if task._state & state and matches(task):
                return task


def _walk(
    workflow: Any,
    first_task: Any,
    end_at_spec: str | None = None,
    max_depth: int = 1000,
    depth_first: bool = True,
    skip_subprocesses: bool = False,
    task_filter: Any = None,
    **kwargs: Any,
) -> Iterator[Any]:
    if not depth_first:  # never used by the engine: SpiffWorkflow's own iterator
        return cast(
            Iterator[Any],
            BpmnTaskIterator(
                first_task or workflow.task_tree,
                end_at_spec,
                max_depth,
                depth_first,
                skip_subprocesses,
                task_filter,
                **kwargs,
            ),
        )
    return TaskWalk(
        first_task or workflow.task_tree,
        task_filter or BpmnTaskFilter(**kwargs),
        end_at_spec,
        max_depth,
        True,
        skip_subprocesses,
    )


_FILTER_ONLY = frozenset(("state", "updated_ts", "manual", "spec_name", "spec_class", "catches_event", "lane"))


def _reaches(task: Any, workflow: Any, min_state: int, filter_state: int, meets: Any = None) -> bool | None:
    """Whether a depth-first `BpmnTaskIterator` from `workflow.task_tree` (no end_at_spec, no depth cut) reaches
    `task`: every step up (child -> parent, or a subprocess's root -> the task that called it) is one the walk
    takes down. A parent is expanded when its state is at least `min_state` or it has a subprocess; a subprocess
    is entered from its calling task unless that task is finished and the filter asks only for finished tasks
    (SpiffWorkflow's own test, kept as written). None when it does not (or when unsure: the caller then walks);
    else whether `meets` is one of `task`'s ancestors in its own workflow (`task.is_descendant_of(meets)`).

    It relies on what SpiffWorkflow keeps true of a task tree: each task is listed once, in its parent's
    `_children` (checked on the way up), so a walk that reaches a task reaches it once."""
    current, met, own_workflow = task, False, True
    while True:
        own = current.workflow
        top = own.top_workflow
        parent_id = current._parent
        if parent_id is None:
            if current is not own.task_tree:
                return None
            if own is workflow:
                return met
            current, own_workflow = _entered_from(own, top, filter_state), False
            if current is None:
                return None
            continue
        parent = own.tasks.get(parent_id)
        if parent is None or current.id not in parent._children:
            return None
        if parent._state < min_state and not (top.subprocesses and top.subprocesses.get(parent.id) is not None):
            return None
        if parent is meets and own_workflow:
            met = True
        current = parent


def _entered_from(subprocess: Any, top: Any, filter_state: int) -> Any:
    """The task whose subprocess `subprocess` is, when the walk enters it from that task, else None."""
    caller = top.tasks.get(subprocess.parent_task_id)
    if caller is None:
        for other in top.subprocesses.values():
            caller = other.tasks.get(subprocess.parent_task_id)
            if caller is not None:
                break
        else:
            return None
    if top.subprocesses.get(caller.id) is not subprocess:
        return None
    if caller._state >= _FINISHED and filter_state <= _FINISHED:  # BpmnTaskIterator's test, as written
        return None
    return caller


def _reached_below(task: Any, workflow: Any, end_at_spec: str) -> bool:
    """Whether `TaskIterator(workflow.task_tree, state=NOT_FINISHED_MASK, end_at_spec=…)` reaches `task` (of
    `workflow`): that walk's minimum state is MAYBE, so only a parent named `end_at_spec` stops it going down
    (the same tree invariant as `_reaches`)."""
    tasks = workflow.tasks
    current = task
    while True:
        parent_id = current._parent
        if parent_id is None:
            return current is workflow.task_tree
        parent = tasks.get(parent_id)
        if parent is None or current.id not in parent._children or parent.task_spec.name == end_at_spec:
            return False
        current = parent


def _min_state(state: int) -> int:
    """TaskIterator.__init__: below which state a task's children are not visited."""
    return cast(
        int, TaskState.MAYBE if state & _PREDICTED else TaskState.FUTURE if state & _DEFINITE else TaskState.COMPLETED
    )


class _Walks:
    """What both workflow classes change: how their task trees are walked, nothing else."""

    tasks: dict[Any, Any]  # (the workflow's own attributes, for the type checker)
    task_tree: Any
    top_workflow: Any

    def get_tasks_iterator(self, first_task: Any = None, **kwargs: Any) -> Iterator[Any]:
        return _walk(self, first_task, **kwargs)

    def get_tasks(self, first_task: Any = None, **kwargs: Any) -> list[Any]:
        """`Workflow.get_tasks`, found from the workflows' task dictionaries when that gives the same list."""
        if (first_task is None or first_task is self.task_tree) and _FILTER_ONLY.issuperset(kwargs):
            found = self._found(BpmnTaskFilter(**kwargs))
            if found is not None:
                return found
        return list(self.get_tasks_iterator(first_task, **kwargs))

    def ready_engine_tasks(self) -> list[Any]:
        """What `BpmnWorkflow._do_engine_steps` runs: the READY tasks whose spec is not manual, walk order."""
        found = self._found(BpmnTaskFilter(state=TaskState.READY), lambda t: not t.task_spec.manual)
        if found is None:
            found = [t for t in self.get_tasks_iterator(state=TaskState.READY) if not t.task_spec.manual]
        return found

    def _found(self, task_filter: Any, also: Callable[[Any], bool] | None = None) -> list[Any] | None:
        """The whole-tree walk's answer for a filter (and `also`), when the task dictionaries give it, else None.

        The walk returns, in walk order, the tasks the filter matches among those it reaches. The tasks it
        can reach are all in this workflow's and the subprocesses' dictionaries, and with fewer than
        `max_depth` (1000) of them its depth limit never cuts. So: none there matches -> []; exactly one
        matches and the walk reaches it (`_reaches`) -> [it]. More than one: None (walk order needed)."""
        top = self.top_workflow
        scopes = [self.tasks, *(sp.tasks for sp in top.subprocesses.values() if sp is not self)]
        if sum(map(len, scopes)) >= 1000:
            return None
        state, matches = task_filter.state, task_filter.matches
        found = [
            t
            for scope in scopes
            for t in scope.values()
            if t._state & state and matches(t) and (also is None or also(t))
        ]
        if not found:
            return found
        if len(found) == 1 and _reaches(found[0], self, _min_state(state), state) is not None:
            return found
        return None

    def tasks_named(self, spec_name: str, below: Any = None) -> list[tuple[Any, bool]] | None:
        """`get_tasks(spec_name=…)` as a set: [(task, task.is_descendant_of(below))] in no particular order,
        or None (too many tasks, or one the walk might not reach: ask the walk)."""
        top = self.top_workflow
        scopes = [self.tasks, *(sp.tasks for sp in top.subprocesses.values() if sp is not self)]
        if sum(map(len, scopes)) >= 1000:
            return None
        found = []
        for scope in scopes:
            for task in scope.values():
                if task.task_spec.name == spec_name:
                    met = _reaches(task, self, TaskState.MAYBE, TaskState.ANY_MASK, below)
                    if met is None:
                        return None
                    found.append((task, met))
        return found

    def update_waiting_tasks(self) -> None:
        # Workflow.update_waiting_tasks: TaskIterator (not the BPMN one: this workflow's own tree only). It
        # updates the tasks that are WAITING when it reaches them, and only an update changes anything:
        # with no WAITING task in this workflow, it does nothing.
        for task in self.tasks.values():
            if task._state & _WAITING:
                break
        else:
            return
        for task in TaskWalk(self.task_tree, TaskFilter(state=_WAITING), bpmn=False):
            task.task_spec._update(task)


class HostSubWorkflow(_Walks, BpmnSubWorkflow):  # type: ignore[misc]  # SpiffWorkflow is untyped
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        adopt_tasks(self)  # the root and its predicted tasks, made by SpiffWorkflow as `Task`


class HostWorkflow(_Walks, BpmnWorkflow):  # type: ignore[misc]  # SpiffWorkflow is untyped
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        adopt_tasks(self)  # the root and its predicted tasks, made by SpiffWorkflow as `Task`

    def create_subprocess(self, my_task: Any, spec_name: str) -> HostSubWorkflow:
        subprocess = HostSubWorkflow(self.subprocess_specs[spec_name], parent_task_id=my_task.id, top_workflow=self)
        self.subprocesses[my_task.id] = subprocess
        return subprocess

    def _do_engine_steps(
        self,
        will_complete_task: Callable[[Any], None] | None = None,
        did_complete_task: Callable[[Any], None] | None = None,
    ) -> bool:
        # BpmnWorkflow._do_engine_steps (SpiffWorkflow 3.2.0) as written, but for the list it runs: there,
        # `wf.get_tasks(state=READY)` and a `manual` test on each; here the same tasks in the same order from
        # `ready_engine_tasks` (manual is a fixed property of a spec, so testing it first changes nothing).
        def update_workflow(wf: Any) -> int:
            count = 0
            for task in wf.ready_engine_tasks():
                if will_complete_task is not None:
                    will_complete_task(task)
                task.run()
                count += 1
                if did_complete_task is not None:
                    did_complete_task(task)
            return count

        active_subprocesses = self.get_active_subprocesses()
        for subprocess in sorted(active_subprocesses, key=lambda v: v.depth, reverse=True):
            count = None
            while count is None or count > 0:
                count = update_workflow(subprocess)
            if subprocess.parent_task_id is not None:
                task = self.get_task_from_id(subprocess.parent_task_id)
                task.task_spec._update(task)

        count = update_workflow(self)
        return count > 0 or len(self.get_active_subprocesses()) > len(active_subprocesses)

    def adopt_subprocesses(self) -> None:
        """After a restore: the restored subprocesses walk their trees the same way, and their task
        dictionaries are keyed by the tasks' own id objects (equal keys, same order; a look-up by an id
        taken from a task then matches by identity instead of calling `UUID.__eq__`)."""
        for subprocess in self.subprocesses.values():
            if type(subprocess) is BpmnSubWorkflow:
                subprocess.__class__ = HostSubWorkflow
            tasks = subprocess.tasks
            if all(key is task.id or key == task.id for key, task in tasks.items()):
                subprocess.tasks = {task.id: task for task in tasks.values()}


# Used only by the equivalence tests: SpiffWorkflow's own walk for the same arguments.
def spiff_walk(workflow: Any, first_task: Any = None, bpmn: bool = True, **kwargs: Any) -> Any:
    if bpmn:
        return BpmnTaskIterator(first_task or workflow.task_tree, **kwargs)
    return TaskIterator(first_task or workflow.task_tree, **kwargs)


class HostParallelGateway(DefaultParallelGateway):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """SpiffWorkflow's parallel gateway with the same join test, without a walk of the whole tree per test.

    `ParallelGateway._check_threshold_unstructured` (3.2.0) lists this gateway's tasks with
    `get_tasks(spec_name=…)` and, for each, asks `task.is_descendant_of(my_task)` (a later iteration of a
    loop below this one: `remove_ancestor`, whose result depends on the order of the list),
    `my_task.is_descendant_of(task)` (an earlier iteration: ignored), or else removes the task's parent's
    spec from the inputs still awaited when that parent is COMPLETED. Without a later iteration, only that
    last removal happens, and removing from a set gives the same set in any order: so the tasks are taken
    from the task dictionaries (`tasks_named`, which also answers the first question on its way up the tree)
    and SpiffWorkflow's own test runs whenever a later iteration exists, or the workflow is not ours."""

    def _check_threshold_unstructured(self, my_task: Any) -> bool:
        workflow = my_task.workflow
        tasks = workflow.tasks_named(self.name, my_task) if isinstance(workflow, _Walks) else None
        if tasks is None or any(below for _, below in tasks):
            return cast(bool, super()._check_threshold_unstructured(my_task))
        earlier = set()  # my_task.is_descendant_of(task): its ancestors in its own workflow
        current = workflow.tasks.get(my_task._parent)
        while current is not None:
            earlier.add(id(current))
            current = workflow.tasks.get(current._parent)
        waiting_inputs = set(self.inputs)
        for task, _ in tasks:
            if id(task) in earlier:
                continue
            elif task.parent.state == TaskState.COMPLETED and task.parent.task_spec in waiting_inputs:
                waiting_inputs.remove(task.parent.task_spec)
        return len(waiting_inputs) == 0


class HostEndJoin(_EndJoin):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """The join before a process's end, with the same test: `_EndJoin._check_threshold_unstructured` (3.2.0)
    walks the tree (`TaskIterator`, NOT_FINISHED tasks, not below a task of this spec) and fires only when it
    meets no task but `my_task`. Whether such a task exists does not depend on the walk's order, so the task
    dictionary is scanned and each unfinished task checked for being on that walk (`_reached_below`)."""

    def _check_threshold_unstructured(self, my_task: Any) -> bool:
        workflow = my_task.workflow
        if not isinstance(workflow, _Walks) or len(workflow.tasks) >= 1000:
            return cast(bool, super()._check_threshold_unstructured(my_task))
        for task in workflow.tasks.values():
            if task is not my_task and task._state & _NOT_FINISHED and _reached_below(task, workflow, self.name):
                return False
        return True


_ADOPTED: weakref.WeakSet[Any] = weakref.WeakSet()
_HOST_CLASSES = {DefaultParallelGateway: HostParallelGateway, _EndJoin: HostEndJoin}
_SPIFF_CLASSES: dict[type, type] = {host: spiff for spiff, host in _HOST_CLASSES.items()}


def spiff_class(spec: Any) -> type:
    """The SpiffWorkflow class a spec was parsed as, whether or not `adopt_specs` has given it the host's
    class since (a bundle that has run a case has; a version just parsed has not): what a comparison of two
    versions' specs must compare."""
    kind: type = type(spec)
    return _SPIFF_CLASSES.get(kind, kind)


def adopt_specs(*process_specs: Any) -> None:
    """Make the deployed specs' parallel gateways `HostParallelGateway` and end joins `HostEndJoin` (the same
    objects, the same attributes; once per spec object, which every run of that deployment shares). The specs
    are never serialised (the state is stored without them), so nothing else sees the class."""
    for spec in process_specs:
        if spec is None or spec in _ADOPTED:
            continue
        for task_spec in spec.task_specs.values():
            host_class = _HOST_CLASSES.get(type(task_spec))
            if host_class is not None:
                task_spec.__class__ = host_class
        _ADOPTED.add(spec)
