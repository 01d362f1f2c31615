"""The per-worker cache of live workflows (app/engine/live_workflows.py, issue 17): its take/keep rules, and that a
live workflow, made `as_restored`, continues a case exactly as a restore of its stored state would."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from app.engine.clock import CLOCK
from app.engine.live_workflows import LiveWorkflows, as_restored, differences
from app.engine.runtime import Runtime
from tests.support.engine_routes import stage1_route_started, take_step

ROOT = Path(__file__).resolve().parents[2]
stage1 = pytest.importorskip("bench.stage1")


class _Workflow:
    """Stands for a workflow in the rules that never look inside one."""

    script_engine: object = "the run's engine"


BUNDLE, OTHER_BUNDLE = object(), object()


def test_take_gives_the_workflow_kept_for_that_bundle_and_exact_state_once():
    cache = LiveWorkflows(4)
    workflow = _Workflow()
    cache.keep(1, BUNDLE, "state-1", workflow)
    assert workflow.script_engine is None  # the finished run is not kept alive with it
    assert cache.take(1, BUNDLE, "state-1") is workflow
    assert cache.take(1, BUNDLE, "state-1") is None  # taking removes: a second run restores
    assert (cache.hits, cache.misses) == (1, 1)


@pytest.mark.parametrize(
    ("bundle", "state"),
    [
        (OTHER_BUNDLE, "state-1"),  # another version, a re-parsed bundle (MASH_FRESH_BUNDLES) or a restart
        (BUNDLE, "state-2"),  # another worker (or a direct update) wrote the case since
        (BUNDLE, "state-1 "),  # string equality, not "looks the same"
    ],
)
def test_any_other_bundle_or_state_misses_and_drops_the_entry(bundle, state):
    cache = LiveWorkflows(4)
    cache.keep(1, BUNDLE, "state-1", _Workflow())
    assert cache.take(1, bundle, state) is None
    assert 1 not in cache
    assert cache.take(1, BUNDLE, "state-1") is None


def test_keeping_again_replaces_the_case_entry():
    cache = LiveWorkflows(4)
    first, second = _Workflow(), _Workflow()
    cache.keep(1, BUNDLE, "state-1", first)
    cache.keep(1, BUNDLE, "state-2", second)
    assert len(cache) == 1
    assert cache.take(1, BUNDLE, "state-2") is second


def test_the_bound_evicts_the_least_recently_kept():
    cache = LiveWorkflows(2)
    for instance_id in (1, 2, 3):
        cache.keep(instance_id, BUNDLE, f"state-{instance_id}", _Workflow())
    assert 1 not in cache and 2 in cache and 3 in cache
    cache.keep(2, BUNDLE, "state-2b", _Workflow())  # kept again: now the most recent
    cache.keep(4, BUNDLE, "state-4", _Workflow())
    assert 3 not in cache and 2 in cache and 4 in cache
    cache.resize(1)
    assert len(cache) == 1 and 4 in cache


def test_size_zero_keeps_nothing():
    cache = LiveWorkflows(0)
    cache.keep(1, BUNDLE, "state-1", _Workflow())
    assert len(cache) == 0 and cache.take(1, BUNDLE, "state-1") is None
    cache = LiveWorkflows(4)
    cache.keep(1, BUNDLE, "state-1", _Workflow())
    cache.resize(0)
    assert len(cache) == 0
    cache.keep(1, BUNDLE, "state-1", _Workflow())
    assert len(cache) == 0


def test_two_threads_never_get_the_same_workflow():
    cache = LiveWorkflows(4)

    def take(start: threading.Barrier, got: list[object]) -> None:
        start.wait()
        found = cache.take(1, BUNDLE, "state")
        if found is not None:
            got.append(found)

    for _ in range(50):
        workflow = _Workflow()
        cache.keep(1, BUNDLE, "state", workflow)
        start = threading.Barrier(8)
        got: list[object] = []
        threads = [threading.Thread(target=take, args=(start, got)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert got == [workflow]


# ---- a live workflow continues exactly as a restored one ---------------------------------------------------


@pytest.fixture(scope="module")
def front_door():
    return stage1.engine_bundle(ROOT)  # the deployed models, built as the host builds them


def _route(front_door, n: int, live: bool, late: bool) -> list:
    """One Stage 1 route from fixed ids and clock. Before every step the case is restored from its stored state,
    or (`live`) the same workflow object continues, made `as_restored` and bound to the step's runtime as
    app/services/core/engine_host.restore does. Everything the host reads is recorded after each step."""
    bundle, evaluator = front_door
    with stage1_route_started(front_door, n) as (route, runtime, workflow):
        seen: list = []
        steps = list(route.steps)
        for i, (bpmn_id, data) in enumerate(steps):
            state = runtime.dump(workflow)
            runtime = Runtime(bundle, evaluator, stage1.stub_operations())
            if live:
                assert differences(as_restored(workflow), runtime.restore(stage1.FRONT_DOOR, state)) == []
                workflow.script_engine = runtime.script_engine
            else:
                workflow = runtime.restore(stage1.FRONT_DOOR, state)
            if late and i == len(steps) // 2:
                CLOCK.advance(timedelta(days=40))
                runtime.fire_timers(workflow)
            step = take_step(runtime, workflow, bundle, bpmn_id, data)
            if step is None:
                seen.append(("not ready", bpmn_id))
                break
            case_data, withdrawn = step
            seen += [repr(withdrawn)]
            runtime.follow_case_dates(workflow, case_data)
            seen += [
                _without_times(runtime.dump(workflow)),
                list(runtime.log.changed.items()),  # in order: the order the case's fields change in
                repr(runtime.log),
                repr(runtime.ready_tasks(workflow, case_data)),
                repr(runtime.waiting_timers(workflow)),
                workflow.is_completed(),
            ]
        return seen


def _without_times(state: str) -> str:
    """The stored text with each task's `last_state_change` (the wall clock) blanked, the order kept."""
    return re.sub(r'"last_state_change":[0-9.e+-]+', '"last_state_change":0', state)


@pytest.mark.parametrize("late", [False, True], ids=["on-time", "timers-fire-halfway"])
@pytest.mark.parametrize("n", range(len(stage1.ROUTES)), ids=[route.name for route in stage1.ROUTES])
def test_a_live_workflow_continues_every_route_exactly_as_a_restored_one(front_door, n, late):
    assert _route(front_door, n, live=True, late=late) == _route(front_door, n, live=False, late=late)
