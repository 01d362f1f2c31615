"""Stage 1 routes (bench/stage1's mix) run in memory from fixed task ids and a frozen clock, so two ways of running
the same route can be compared state for state (shared by tests/engine/test_task_walk.py and friends)."""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import SpiffWorkflow.task as spiff_task

from app.engine.clock import CLOCK
from app.engine.runtime import Runtime

stage1 = pytest.importorskip("bench.stage1")


@contextlib.contextmanager
def stage1_route_started(front_door: tuple[Any, Any], n: int) -> Iterator[tuple[Any, Runtime, Any]]:
    """Route `n` started on `front_door` (bundle, evaluator): yields (route, runtime, workflow); task ids count from
    1 and the clock stands at 10:00 on 7 December 2026 until the block ends."""
    bundle, evaluator = front_door
    ids = itertools.count(1)
    spiff_task.uuid4 = lambda: uuid.UUID(int=next(ids))
    CLOCK.freeze(datetime(2026, 12, 7, 10, 0, tzinfo=UTC))
    try:
        route = stage1.pick(n)
        body = {**stage1.contact_body(route, n), "received_at": "2026-12-07T10:00:00+00:00"}
        runtime = Runtime(bundle, evaluator, stage1.stub_operations())
        yield route, runtime, runtime.start(stage1.FRONT_DOOR, stage1.engine_seed(body, n))
    finally:
        CLOCK.reset()
        spiff_task.uuid4 = uuid.uuid4


def take_step(runtime: Runtime, workflow: Any, bundle: Any, bpmn_id: str, data: dict) -> tuple[dict, list] | None:
    """The route's next step completed as the host completes it, then the withdrawals it asks after every run:
    (the case data the step changed, the tasks withdrawn), or None when that step is not ready."""
    ready = [t for t in runtime.ready_tasks(workflow) if t.bpmn_id == bpmn_id]
    if not ready:
        return None
    runtime.complete_task(workflow, ready[0].id, stage1.as_host_stores(bundle, ready[0], data))
    case_data = dict(runtime.log.changed)
    return case_data, runtime.withdraw_tasks(workflow, case_data)
