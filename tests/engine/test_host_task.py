"""`HostTask` (issue 17) changes a task exactly as SpiffWorkflow's `Task` does, and logs exactly what it logs.

`HostTask._set_state` skips building log records only when nothing could receive them (`records_heard`), and
`HostTask._inherit_data` skips a merge of equal data. Under pytest a capture handler sits on the root logger,
so by default every record is heard and the host takes SpiffWorkflow's own path: the tests that compare runs
therefore make the `spiff.task` records unheard (`unheard`) for the host's run, and check that they are.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import logging
import math
import uuid

import pytest
import SpiffWorkflow.task as spiff_task
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge

from app.engine.host_task import HostTask, records_heard
from app.engine.runtime import Runtime
from tests.engine.test_task_walk import ROOT, _case, _overdue_for_all, _without_times, spiff_only, stage1

SPIFF_TASK = logging.getLogger("spiff.task")


@pytest.fixture(scope="module")
def front_door():
    return stage1.engine_bundle(ROOT)


@contextlib.contextmanager
def unheard():
    """No handler sees `spiff.task` records (as in production, where nobody configures one)."""
    saved = SPIFF_TASK.propagate
    SPIFF_TASK.propagate = False
    try:
        assert not records_heard(logging.INFO) and not records_heard(logging.DEBUG)
        yield
    finally:
        SPIFF_TASK.propagate = saved


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(
            (
                record.levelno,
                record.getMessage(),
                record.workflow_spec,
                record.task_spec,
                str(record.task_id),
                record.task_type,
                record.state,
                str(record.parent),
                "data" in record.__dict__,
            )
        )


@contextlib.contextmanager
def collected():
    handler = _Collect()
    saved = SPIFF_TASK.propagate, SPIFF_TASK.level
    SPIFF_TASK.addHandler(handler)
    SPIFF_TASK.propagate = False
    try:
        yield handler.seen
    finally:
        SPIFF_TASK.removeHandler(handler)
        SPIFF_TASK.propagate, SPIFF_TASK.level = saved


def test_records_are_heard_exactly_when_logging_would_deliver_them():
    with unheard():
        assert not records_heard(logging.INFO)
        handler = logging.NullHandler(logging.WARNING)  # a handler above the level: still nobody
        SPIFF_TASK.addHandler(handler)
        try:
            assert not records_heard(logging.INFO) and records_heard(logging.WARNING)
            handler.setLevel(logging.INFO)
            assert records_heard(logging.INFO) and not records_heard(logging.DEBUG)  # (the logger is at INFO)
        finally:
            SPIFF_TASK.removeHandler(handler)
        SPIFF_TASK.addFilter(lambda record: True)  # a filter on the logger sees every record made
        try:
            assert records_heard(logging.INFO)
        finally:
            SPIFF_TASK.filters.clear()
        factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(lambda *args, **kwargs: factory(*args, **kwargs))
        try:
            assert records_heard(logging.INFO)
        finally:
            logging.setLogRecordFactory(factory)
        last_resort = logging.lastResort
        logging.lastResort = None  # then the "No handlers could be found" warning may be written
        try:
            assert records_heard(logging.INFO)
        finally:
            logging.lastResort = last_resort
        SPIFF_TASK.disabled = True
        try:
            assert not records_heard(logging.INFO)
        finally:
            SPIFF_TASK.disabled = False
    handler = logging.NullHandler()
    logging.getLogger().addHandler(handler)
    try:
        assert records_heard(logging.INFO)  # propagated to the root logger's handler
        logging.disable(logging.INFO)
        assert not records_heard(logging.INFO)
    finally:
        logging.disable(logging.NOTSET)
        logging.getLogger().removeHandler(handler)


@pytest.mark.parametrize(("round_trip", "late"), [(False, False), (True, True)], ids=["in-memory", "restored-late"])
@pytest.mark.parametrize("n", range(len(stage1.ROUTES)), ids=[route.name for route in stage1.ROUTES])
def test_unheard_state_changes_leave_every_case_as_spiffworkflows_own_task_does(front_door, n, round_trip, late):
    with spiff_only():
        expected = _case(front_door, n, round_trip, late)
    with unheard():
        assert _case(front_door, n, round_trip, late) == expected


@pytest.mark.parametrize("n", [0, 5])
def test_heard_state_changes_are_logged_as_spiffworkflow_logs_them(front_door, n):
    with spiff_only(), collected() as theirs:
        _case(front_door, n, True, True)
    with collected() as ours:
        _case(front_door, n, True, True)
    assert ours == theirs and len(ours) > 100
    assert not any(seen[-1] for seen in ours)  # never task data: the logger stays pinned at INFO


def _all_tasks(workflow):
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def test_every_task_the_host_creates_or_restores_is_a_host_task(front_door):
    bundle, evaluator = front_door
    route = stage1.pick(1)
    runtime = Runtime(bundle, evaluator, stage1.stub_operations())
    workflow = runtime.start(stage1.FRONT_DOOR, stage1.engine_seed(stage1.contact_body(route, 1), 1))
    for bpmn_id, data in route.steps[:3]:
        ready = next(t for t in runtime.ready_tasks(workflow) if t.bpmn_id == bpmn_id)
        runtime.complete_task(workflow, ready.id, stage1.as_host_stores(bundle, ready, data))
    _overdue_for_all(runtime, workflow, bundle)  # event sub-processes: tasks in subprocess workflows
    assert workflow.subprocesses
    assert {type(t) for t in _all_tasks(workflow)} == {HostTask}
    state = runtime.dump(workflow)
    assert {t["typename"] for t in json.loads(state)["tasks"].values()} == {"Task"}
    restored = runtime.restore(stage1.FRONT_DOOR, state)
    assert {type(t) for t in _all_tasks(restored)} == {HostTask}
    assert runtime.dump(restored) == state
    with spiff_only():  # and the comparison runs really are SpiffWorkflow's own tasks
        plain = Runtime(bundle, evaluator, stage1.stub_operations())
        assert {type(t) for t in _all_tasks(plain.restore(stage1.FRONT_DOOR, state))} == {Task}
        started = plain.start(stage1.FRONT_DOOR, stage1.engine_seed(stage1.contact_body(route, 1), 1))
        assert {type(t) for t in _all_tasks(started)} == {Task}


def test_the_five_task_model_runs_as_with_spiffworkflows_own_task():
    from app.services.modelling.deployments import read_model_dir
    from bench.engine_steps import bundle_of

    bundle, evaluator = bundle_of(read_model_dir(ROOT / "bench" / "models"))

    def run() -> list:
        ids = itertools.count(1)
        spiff_task.uuid4 = lambda: uuid.UUID(int=next(ids))
        try:
            runtime = Runtime(bundle, evaluator, {})
            workflow = runtime.start("five_tasks", {"started_by": "test"})
            seen = [_without_times(runtime.dump(workflow))]
            for i in range(1, 6):
                state = runtime.dump(workflow)
                runtime = Runtime(bundle, evaluator, {})
                workflow = runtime.restore("five_tasks", state)
                ready = runtime.ready_tasks(workflow)
                runtime.complete_task(workflow, ready[0].id, {"note": f"step {i}"})
                seen += [_without_times(runtime.dump(workflow)), repr(runtime.log), workflow.is_completed()]
            return seen
        finally:
            spiff_task.uuid4 = uuid.uuid4

    with spiff_only():
        expected = run()
    with unheard():
        assert run() == expected
    assert expected[-1] is True


def test_a_host_task_inherits_data_as_spiffworkflow_merges_it(front_door):
    bundle, evaluator = front_door
    runtime = Runtime(bundle, evaluator, stage1.stub_operations())
    workflow = runtime.start(stage1.FRONT_DOOR, stage1.engine_seed(stage1.contact_body(stage1.pick(0), 0), 0))
    task = next(t for t in workflow.tasks.values() if t.parent is not None)
    nested = {"a": [1, {"b": 2}], "s": {1, 2}}
    cases = [
        ({}, {"x": 1}),
        ({"x": 1, "n": nested}, {"x": 1, "n": nested}),  # equal and shared: nothing to do
        ({"x": 1, "n": copy.deepcopy(nested)}, {"x": 1, "n": nested}),  # equal, not shared
        ({"x": 1, "l": [1, 2, 3]}, {"x": 1, "l": [1, 2]}),  # a list merged and trimmed
        ({"x": 1, "extra": True}, {"x": 1}),  # own keys kept
        ({"x": float("nan")}, {"x": float("nan")}),  # two NaNs: not equal, merged
        ({"x": math.nan}, {"x": math.nan}),  # one NaN: equal as dicts, reassigned to itself by the merge
        ({"d": {"k": 1}}, {"d": {"k": 2, "j": [3]}}),
    ]
    for own, parents in cases:
        expected = DeepMerge.merge(*copy.deepcopy((own, parents)))
        task.parent.data, task.data = parents, own
        before = task.data
        task._inherit_data()
        assert task.data is before  # merged in place, as SpiffWorkflow does
        assert repr(task.data) == repr(expected) and list(task.data) == list(expected)


def test_the_thread_id_pool_stays_spiffworkflows_one(front_door):
    bundle, evaluator = front_door
    runtime = Runtime(bundle, evaluator, stage1.stub_operations())
    workflow = runtime.start(stage1.FRONT_DOOR, stage1.engine_seed(stage1.contact_body(stage1.pick(0), 0), 0))
    before = Task.thread_id_pool
    assert workflow.task_tree._assign_new_thread_id(recursive=False) == before + 1 == Task.thread_id_pool
    assert "thread_id_pool" not in HostTask.__dict__


def test_the_suite_runs_the_state_change_path_production_runs():
    """pytest's log capture takes WARNING and above (pyproject log_level), as production's log does, so every
    other test of the suite exercises HostTask's quiet path rather than SpiffWorkflow's logging one."""
    assert not records_heard(logging.INFO)
