"""The engine's faster task-tree walks and restore (issue 17) give exactly what SpiffWorkflow's own code gives.

`app.engine.task_walk` replaces SpiffWorkflow's tree walks (`TaskIterator`, `get_tasks`, `update_waiting_tasks`,
the parallel join's and the end join's tests) and `app.engine.runtime` its task restore (`DeepMerge.merge({}, …)`)
and the snapshot of task data (`copy.deepcopy`). Here the Stage 1 routes of the deployed front door run twice
from the same ids and clock: once through SpiffWorkflow's own classes, once through the host's, and every
stored state, run log, ready list and timer list must be identical; and every walk, on the trees those cases
grow, returns the same tasks in the same order with the same final depth counter.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import itertools
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import SpiffWorkflow.task as spiff_task
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.bpmn.serializer.helpers.dictionary import DictionaryConverter
from SpiffWorkflow.bpmn.util.task import BpmnTaskFilter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskFilter, TaskState

import app.engine.runtime as runtime_module
from app.engine import overdue
from app.engine.clock import CLOCK
from app.engine.runtime import Runtime, _merged_into_empty, _snapshot
from app.engine.task_walk import TaskWalk, spiff_walk
from tests.support.engine_routes import stage1_route_started, take_step

ROOT = Path(__file__).resolve().parents[2]
stage1 = pytest.importorskip("bench.stage1")


@pytest.fixture(scope="module")
def front_door():
    return stage1.engine_bundle(ROOT)  # the deployed models, built as the host builds them


class _SpiffWorkflow(BpmnWorkflow):
    def adopt_subprocesses(self):
        pass


@contextlib.contextmanager
def spiff_only():
    """SpiffWorkflow's own workflow classes, join tests, task converter and deepcopy, in the same Runtime."""
    converter = TaskConverter(spiff_task.Task, DictionaryConverter())
    converter.registry = runtime_module.SERIALIZER.registry
    from_dict = runtime_module.SERIALIZER.registry.convert_from_dict
    saved = (runtime_module.HostWorkflow, runtime_module.adopt_specs, runtime_module._snapshot, from_dict["Task"])
    runtime_module.HostWorkflow, runtime_module.adopt_specs = _SpiffWorkflow, (lambda *specs: None)
    runtime_module._snapshot = copy.deepcopy
    from_dict["Task"] = functools.partial(DictionaryConverter._obj_from_dict, converter.from_dict)
    try:
        yield
    finally:
        (runtime_module.HostWorkflow, runtime_module.adopt_specs, runtime_module._snapshot, from_dict["Task"]) = saved


def _without_times(state: str) -> dict:
    def strip(value):
        if isinstance(value, dict):
            value.pop("last_state_change", None)
            for item in value.values():
                strip(item)
        elif isinstance(value, list):
            for item in value:
                strip(item)

    found = json.loads(state)
    strip(found)
    return found


def _overdue_for_all(runtime, workflow, bundle):
    found = overdue.listener(workflow.spec, bundle.subprocess_specs[stage1.FRONT_DOOR])
    if found is None:
        return
    for task in runtime.ready_tasks(workflow):
        if overdue.eligible(runtime, workflow, task.id, {}):
            overdue.send(
                runtime,
                workflow,
                found,
                task.id,
                {"task": task.title, "task_id": task.id, "role": task.role, "due_at": task.due_at, "holder": None},
            )


def _case(front_door, n: int, round_trip: bool, late: bool) -> list:
    """One Stage 1 route, everything the host reads recorded after each step; `late`: halfway, the clock moves
    40 days on, the timers fire and every ready task gets an overdue review; at the end whatever is still
    ready (the reviews) is completed."""
    bundle, evaluator = front_door
    with stage1_route_started(front_door, n) as (route, runtime, workflow):
        seen = [_without_times(runtime.dump(workflow)), repr(runtime.log)]
        steps = list(route.steps)
        for i, (bpmn_id, data) in enumerate(steps):
            if late and i == len(steps) // 2:
                CLOCK.advance(timedelta(days=40))
                runtime.fire_timers(workflow)
                _overdue_for_all(runtime, workflow, bundle)
                seen += [_without_times(runtime.dump(workflow)), repr(runtime.log), repr(runtime.ready_tasks(workflow))]
            if round_trip:
                state = runtime.dump(workflow)
                runtime = Runtime(bundle, evaluator, stage1.stub_operations())
                workflow = runtime.restore(stage1.FRONT_DOOR, state)
            step = take_step(runtime, workflow, bundle, bpmn_id, data)
            if step is None:
                seen.append(("not ready", bpmn_id))
                break
            case_data, withdrawn = step
            seen += [repr(withdrawn), _without_times(runtime.dump(workflow))]
            runtime.follow_case_dates(workflow, case_data)
            seen += [
                repr(runtime.log),
                repr(runtime.ready_tasks(workflow, case_data)),
                repr(runtime.waiting_timers(workflow)),
                workflow.is_completed(),
                repr(runtime.stuck_steps(workflow)),
                [str(t.id) for t in workflow.get_tasks()],
            ]
        for _ in range(20):
            ready = runtime.ready_tasks(workflow)
            if not ready:
                break
            runtime.complete_task(workflow, ready[0].id, {})
            seen += [
                ready[0].bpmn_id,
                _without_times(runtime.dump(workflow)),
                repr(runtime.log),
                workflow.is_completed(),
            ]
        return seen


@pytest.mark.parametrize(
    ("round_trip", "late"), [(False, False), (True, True)], ids=["in-memory", "restored-each-step-late"]
)
@pytest.mark.parametrize("n", range(len(stage1.ROUTES)), ids=[route.name for route in stage1.ROUTES])
def test_every_stage1_route_runs_exactly_as_with_spiffworkflows_own_code(front_door, n, round_trip, late):
    with spiff_only():
        expected = _case(front_door, n, round_trip, late)
    assert _case(front_door, n, round_trip, late) == expected


STATES = (
    TaskState.ANY_MASK,
    TaskState.WAITING,
    TaskState.READY,
    TaskState.COMPLETED,
    TaskState.NOT_FINISHED_MASK,
    TaskState.PREDICTED_MASK,
    TaskState.FINISHED_MASK,
    TaskState.DEFINITE_MASK,
    TaskState.CANCELLED,
)


def _compare_walks(workflow, rng) -> int:
    compared = 0
    workflows = [workflow, *workflow.subprocesses.values()]
    names = sorted({t.task_spec.name for w in workflows for t in w.tasks.values()})
    for w in workflows:
        for bpmn, state in itertools.product((True, False), STATES):
            for kwargs in (
                {},
                {"spec_name": rng.choice(names)},
                {"end_at_spec": rng.choice(names)},
                {"max_depth": rng.randint(0, 12)},
                {"max_depth": rng.randint(0, 6), "end_at_spec": rng.choice(names)},
                *([{"skip_subprocesses": True}] if bpmn else []),
            ):
                for first in (w.task_tree, rng.choice(list(w.tasks.values()))):
                    filters = {k: v for k, v in kwargs.items() if k == "spec_name"}
                    walk = {k: v for k, v in kwargs.items() if k != "spec_name"}
                    make = BpmnTaskFilter if bpmn else TaskFilter
                    theirs = spiff_walk(w, first, bpmn=bpmn, task_filter=make(state=state, **filters), **walk)
                    ours = TaskWalk(
                        first,
                        make(state=state, **filters),
                        walk.get("end_at_spec"),
                        walk.get("max_depth", 1000),
                        bpmn,
                        walk.get("skip_subprocesses", False),
                    )
                    assert [t.id for t in ours] == [t.id for t in theirs], (state, kwargs, bpmn)
                    assert ours.depth == theirs.depth
                    compared += 1
            # and the workflow's own list (the task dictionaries when they give the same answer, else the walk)
            assert [t.id for t in w.get_tasks(state=state)] == [t.id for t in spiff_walk(w, state=state)]
    return compared


def test_every_walk_gives_spiffworkflows_tasks_in_spiffworkflows_order(front_door):
    bundle, evaluator = front_door
    rng = random.Random(17)
    compared = 0
    for n in (0, 1, 5):
        route = stage1.pick(n)
        runtime = Runtime(bundle, evaluator, stage1.stub_operations())
        workflow = runtime.start(stage1.FRONT_DOOR, stage1.engine_seed(stage1.contact_body(route, n), n))
        for i, (bpmn_id, data) in enumerate(route.steps):
            if i == 2:
                _overdue_for_all(runtime, workflow, bundle)  # event sub-processes: walks into subprocesses
            ready = [t for t in runtime.ready_tasks(workflow) if t.bpmn_id == bpmn_id]
            runtime.complete_task(workflow, ready[0].id, stage1.as_host_stores(bundle, ready[0], data))
            if i % 2 == 0:
                compared += _compare_walks(runtime.restore(stage1.FRONT_DOOR, runtime.dump(workflow)), rng)
            else:
                compared += _compare_walks(workflow, rng)
    assert compared > 1000


def test_a_task_is_restored_with_its_parents_data_merged_as_spiffworkflow_merges_it():
    class Listing(list):
        pass

    nested = {"a": [1, {"b": 2}]}
    parent = {
        "z": 1,
        "child": {"first_name": "A", "tags": ["x"]},
        "items": [1, 2],
        "names": {"p", "q"},
        "listing": Listing([3]),
        "none": None,
        "nested": nested,
        "a": "text",
    }
    ours, theirs = _merged_into_empty(parent), DeepMerge.merge({}, parent)
    assert ours == theirs and list(ours) == list(theirs)
    for key in parent:
        assert type(ours[key]) is type(theirs[key])
        # the same copies: shallow for dicts, lists and sets (nested values shared), the rest as is
        assert (ours[key] is parent[key]) == (theirs[key] is parent[key])
    assert ours["nested"]["a"] is parent["nested"]["a"] is theirs["nested"]["a"]


def test_the_snapshot_of_task_data_compares_as_deepcopy_does():
    data = {
        "child": {"name": "A", "tags": ["x", {"deep": [1, 2.5, None, True]}]},
        "n": 3,
        "when": datetime(2026, 12, 7, tzinfo=UTC),
        "pair": (1, [2]),
    }
    copied = _snapshot(data)
    assert copied == copy.deepcopy(data)
    data["child"]["tags"][1]["deep"].append(4)  # changed in place, as a script may
    assert copied != data and copied["child"]["tags"][1]["deep"] == [1, 2.5, None, True]
    loop: dict = {"x": 1}
    loop["self"] = loop  # a structure containing itself: deepcopy's memo copes, and so does the snapshot
    assert _snapshot(loop)["self"]["x"] == 1


def test_the_state_is_stored_with_spiffworkflows_own_type_names(front_door):
    bundle, evaluator = front_door
    route = stage1.pick(1)
    runtime = Runtime(bundle, evaluator, stage1.stub_operations())
    workflow = runtime.start(stage1.FRONT_DOOR, stage1.engine_seed(stage1.contact_body(route, 1), 1))
    _overdue_for_all(runtime, workflow, bundle)
    state = json.loads(runtime.dump(workflow))
    assert {sp["typename"] for sp in state["subprocesses"].values()} <= {"BpmnSubWorkflow"}
    assert {t["typename"] for t in state["tasks"].values()} == {"Task"}
    restored = runtime.restore(stage1.FRONT_DOOR, runtime.dump(workflow))
    assert runtime.dump(restored) == runtime.dump(workflow)
