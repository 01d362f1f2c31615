"""Moving a case to a newer version compares each open step's kind as parsed: the host's adopted gateway classes
(task_walk.adopt_specs, done once a bundle has run a case) are not a change of kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState

from app.engine.migrate import check_and_rebase
from app.engine.runtime import Runtime
from app.engine.task_walk import HostEndJoin, HostParallelGateway, spiff_class

ROOT = Path(__file__).resolve().parents[2]
stage1 = pytest.importorskip("bench.stage1")


def test_a_version_that_has_run_a_case_moves_to_one_just_parsed():
    old, evaluator = stage1.engine_bundle(ROOT)  # this worker has run a case on it: its gateways are adopted
    runtime = Runtime(old, evaluator, stage1.stub_operations())
    route = stage1.pick(1)
    workflow = runtime.start(stage1.FRONT_DOOR, stage1.engine_seed(stage1.contact_body(route, 1), 1))
    for bpmn_id, data in route.steps[:3]:  # past a parallel gateway: a step of an adopted class has run
        ready = next(t for t in runtime.ready_tasks(workflow) if t.bpmn_id == bpmn_id)
        runtime.complete_task(workflow, ready.id, stage1.as_host_stores(old, ready, data))
    passed = [
        t
        for t in workflow.get_tasks()
        if isinstance(t.task_spec, HostParallelGateway) and t.has_state(TaskState.FINISHED_MASK | TaskState.STARTED)
    ]
    assert passed, "the case has been through a parallel gateway the host adopted"

    new, _ = stage1.engine_bundle(ROOT)  # the next version, not run on this worker yet
    check, rebased = check_and_rebase(runtime.dump(workflow), stage1.FRONT_DOOR, old, new)

    assert check.can_move, check.reason
    assert rebased is not None


def test_the_parsed_class_of_an_adopted_spec_is_spiffworkflows():
    assert spiff_class(HostParallelGateway.__new__(HostParallelGateway)).__name__ == "ParallelGateway"
    assert spiff_class(HostEndJoin.__new__(HostEndJoin)) is HostEndJoin.__mro__[1]
