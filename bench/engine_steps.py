"""What the model's constructs cost the engine per step: SpiffWorkflow alone, in memory (no DB, no HTTP).

The Stage 1 route mix of bench/stage1.py runs through `app.engine.Runtime` (the host's evaluator,
FEEL decisions and checks) on these models, cases interleaved so machine load hits each alike:

  front_door            processes/ as deployed;
  front_door, host run  the same, each completion as the host runs it (app/services persist_run): the state
                        restored, the task completed, withdrawals, case dates, the state dumped, the waiting
                        timers and the ready tasks read;
  front_door, host run, live workflow
                        the same as a worker with the live-workflow cache runs it (app/engine/live_workflows.py):
                        the workflow it committed last, put in restore order, instead of a restore;
  front_door, no timers the same with every timer boundary event removed (and its outgoing flows):
                        what the boundary timers cost each step (the routes do not wait for them);
  five_tasks            bench/models: start -> 5 user tasks -> end, the floor.

Per model it prints the median and p95 time of one task completion (Runtime.complete_task, which runs
do_engine_steps twice around refresh_timers), wall clock and CPU time of this process (CPU time is what
the machine's other load changes least), the number of tasks in the tree at the end of a case, and (with
--profile) where the deployed front door's completion time goes, per call site.

    .venv/bin/python bench/engine_steps.py [--cases 21] [--profile] [--models-dir DIR]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stage1 import (  # noqa: E402
    FRONT_DOOR,
    ROUTES,
    Run,
    as_host_stores,
    contact_body,
    engine_seed,
    percentile,
    pick,
    stub_operations,
)

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN}


def without_boundary_timers(source: bytes) -> tuple[bytes, int]:
    """The model with every timer boundary event and its outgoing flows removed (diagram left as is)."""
    for prefix, uri in re.findall(rb'xmlns:(\w+)="([^"]+)"', source):
        ET.register_namespace(prefix.decode(), uri.decode())
    root = ET.fromstring(source)
    removed = 0
    for process in root.iter(f"{{{BPMN}}}process"):
        timers = [
            e for e in process.findall("bpmn:boundaryEvent", NS) if e.find("bpmn:timerEventDefinition", NS) is not None
        ]
        ids = {e.get("id") for e in timers}
        flows = [f for f in process.findall("bpmn:sequenceFlow", NS) if f.get("sourceRef") in ids]
        flow_ids = {f.get("id") for f in flows}
        for element in timers + flows:
            process.remove(element)
        for element in process.iter():
            for ref in [r for r in element.findall("bpmn:incoming", NS) if r.text in flow_ids]:
                element.remove(ref)
        for lane in process.iter(f"{{{BPMN}}}lane"):
            for ref in [r for r in lane.findall("bpmn:flowNodeRef", NS) if r.text in ids]:
                lane.remove(ref)
        removed += len(timers)
    return ET.tostring(root, xml_declaration=True, encoding="UTF-8"), removed


def bundle_of(files: dict[str, bytes]):
    from app.engine.calendar import MashCalendar
    from app.engine.clock import CLOCK, install_in_spiff
    from app.engine.evaluator import RestrictedEvaluator
    from app.engine.functions import build_functions
    from app.engine.loader import build_bundle
    from app.engine.runtime import FeelDecisionEngine
    from app.services.core.roles import ROLES

    install_in_spiff()
    ev = RestrictedEvaluator(build_functions(CLOCK.now, MashCalendar()))
    return build_bundle(files, check_expression=ev.check, engine_factory=FeelDecisionEngine, known_roles=ROLES), ev


class Model:
    def __init__(self, name: str, files: dict[str, bytes], process_id: str, host_run: bool = False, live: bool = False):
        self.name, self.process_id, self.host_run, self.live = name, process_id, host_run, live
        self.bundle, self.evaluator = bundle_of(files)
        self.run = Run()
        self.cpu_seconds: list[float] = []
        self.tree_sizes: list[int] = []

    def case(self, n: int) -> None:
        from app.engine.live_workflows import as_restored
        from app.engine.runtime import Runtime

        runtime = Runtime(self.bundle, self.evaluator, stub_operations())
        if self.process_id == FRONT_DOOR:
            route = pick(n)
            workflow = runtime.start(FRONT_DOOR, engine_seed(contact_body(route, n), n))
            steps = route.steps
        else:
            route = None
            workflow = runtime.start(self.process_id, {"started_by": "bench"})
            steps = tuple((f"task_{i}", {"note": f"step {i}"}) for i in range(1, 6))
        state = runtime.dump(workflow) if self.host_run else None
        for bpmn_id, data in steps:
            ready = [t for t in runtime.ready_tasks(workflow) if t.bpmn_id == bpmn_id]
            if not ready:
                self.run.wrong.append(f"{route.name if route else self.name}: {bpmn_id} not ready")
                return
            data = as_host_stores(self.bundle, ready[0], data)
            t0, c0 = time.perf_counter(), time.process_time()
            if self.host_run:  # what app/services persist_run asks of the engine around one completion
                runtime = Runtime(self.bundle, self.evaluator, stub_operations())
                if self.live:  # engine_host.restore on a cache hit: the live workflow, in restore order
                    workflow = as_restored(workflow)
                    workflow.script_engine = runtime.script_engine
                else:
                    workflow = runtime.restore(self.process_id, state)
                runtime.complete_task(workflow, ready[0].id, data)
                case_data = dict(runtime.log.changed)
                runtime.withdraw_tasks(workflow, case_data)
                runtime.follow_case_dates(workflow, case_data)
                state = runtime.dump(workflow)
                runtime.waiting_timers(workflow)
                runtime.ready_tasks(workflow, case_data)
                workflow.is_completed()
            else:
                runtime.complete_task(workflow, ready[0].id, data)
            self.cpu_seconds.append(time.process_time() - c0)
            self.run.task_seconds.append(time.perf_counter() - t0)
        self.tree_sizes.append(len(workflow.tasks))
        outcome = workflow.data.get("outcome") or workflow.last_task.data.get("outcome")
        if not workflow.is_completed() or (route is not None and outcome != route.outcome):
            self.run.wrong.append(
                f"{route.name if route else self.name}: completed={workflow.is_completed()} outcome={outcome}"
            )


# Where a completion's time goes: SpiffWorkflow's call sites and the host's (cumulative, so nested rows overlap)
PROFILE_SITES = (
    ("SpiffWorkflow/bpmn/workflow.py", "do_engine_steps"),
    ("SpiffWorkflow/bpmn/workflow.py", "_do_engine_steps"),
    ("app/engine/task_walk.py", "_do_engine_steps"),
    ("SpiffWorkflow/bpmn/workflow.py", "refresh_timers"),
    ("SpiffWorkflow/workflow.py", "update_waiting_tasks"),
    ("app/engine/task_walk.py", "update_waiting_tasks"),
    ("SpiffWorkflow/bpmn/specs/mixins/unstructured_join.py", "_update_hook"),
    ("SpiffWorkflow/bpmn/specs/mixins/parallel_gateway.py", "_check_threshold_unstructured"),
    ("app/engine/task_walk.py", "_check_threshold_unstructured"),
    ("app/engine/task_walk.py", "tasks_named"),
    ("SpiffWorkflow/bpmn/specs/control.py", "_check_threshold_unstructured"),
    ("SpiffWorkflow/workflow.py", "get_tasks"),
    ("app/engine/task_walk.py", "get_tasks"),
    ("app/engine/task_walk.py", "ready_engine_tasks"),
    ("app/engine/task_walk.py", "_found"),
    ("SpiffWorkflow/bpmn/util/task.py", "_next"),
    ("SpiffWorkflow/util/task.py", "_next"),
    ("app/engine/task_walk.py", "__next__"),
    ("SpiffWorkflow/task.py", "is_descendant_of"),
    ("SpiffWorkflow/task.py", "run"),
    ("SpiffWorkflow/specs/base.py", "_update"),
    ("SpiffWorkflow/bpmn/specs/mixins/events/event_types.py", "_update_hook"),
    ("SpiffWorkflow/task.py", "_inherit_data"),
    ("SpiffWorkflow/task.py", "_set_state"),
    ("logging/__init__.py", "info"),
    ("copy.py", "deepcopy"),
    ("app/engine/runtime.py", "_snapshot"),
    ("app/engine/runtime.py", "will_complete"),
    ("app/engine/runtime.py", "_advance"),
    ("app/engine/runtime.py", "ready_tasks"),
    ("app/engine/runtime.py", "_note_changes"),
    ("app/engine/evaluator.py", "evaluate"),
    ("app/engine/runtime.py", "restore"),
    ("app/engine/runtime.py", "dump"),
    ("app/engine/runtime.py", "from_dict"),
    ("SpiffWorkflow/bpmn/serializer/default/workflow.py", "from_dict"),
    ("SpiffWorkflow/bpmn/serializer/default/workflow.py", "to_dict"),
    ("app/engine/runtime.py", "withdraw_tasks"),
    ("app/engine/runtime.py", "waiting_timers"),
)


def profile(files: dict[str, bytes], cases: int, host_run: bool) -> None:
    front = Model("front_door", files, FRONT_DOOR, host_run=host_run)
    for n in range(len(ROUTES)):
        front.case(n)
    profiler = cProfile.Profile()
    profiler.enable()
    for n in range(cases):
        front.case(n)
    profiler.disable()
    stats = pstats.Stats(profiler)
    completions = sum(len(pick(n).steps) for n in range(cases))
    root = "case" if host_run else "complete_task"
    total = sum(
        v[3] for k, v in stats.stats.items() if k[2] == root and k[0].endswith(("engine_steps.py", "runtime.py"))
    )
    if host_run:  # the timed part of a case: everything but start and the ready-task look-up before each step
        total = sum(
            v[3]
            for k, v in stats.stats.items()
            if k[2] in ("restore", "complete_task", "withdraw_tasks", "follow_case_dates", "dump", "waiting_timers")
            and k[0].endswith("runtime.py")
        )
    what = "the host's run (restore .. dump)" if host_run else "Runtime.complete_task"
    print()
    print(
        f"where the front door's time goes, {what}: {total:.2f} s under the profiler for {completions} "
        f"completions; cumulative per call site (nested rows overlap), Python calls per completion "
        f"{stats.total_calls / completions:,.0f}"
    )
    rows = []
    for (filename, _line, name), (_cc, calls, _tt, cumulative, _callers) in stats.stats.items():
        for where, site in PROFILE_SITES:
            if name == site and filename.endswith(where):
                rows.append((cumulative, calls, f"{where.split('site-packages/')[-1]}:{name}"))
    for cumulative, calls, label in sorted(rows, reverse=True):
        if cumulative >= 0.005 * total:
            print(f"  {100 * cumulative / total:5.1f}%  {calls / completions:8.1f} calls/completion  {label}")


def main(argv=None) -> None:
    from app.services.modelling.deployments import read_model_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=21, help="cases per model (default 21: 3 of each route)")
    parser.add_argument("--profile", action="store_true", help="profile the deployed front door's cases")
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=ROOT,
        help="the models (processes/, dmn/, forms/) to run; default this checkout's",
    )
    args = parser.parse_args(argv)

    files = read_model_dir(args.models_dir)
    stripped, removed = without_boundary_timers(files[f"processes/{FRONT_DOOR}.bpmn"])
    models = [
        Model("front_door", files, FRONT_DOOR),
        Model("front_door, host run (restore .. dump)", files, FRONT_DOOR, host_run=True),
        Model("front_door, host run, live workflow", files, FRONT_DOOR, host_run=True, live=True),
        Model(
            f"front_door, {removed} boundary timers removed",
            {**files, f"processes/{FRONT_DOOR}.bpmn": stripped},
            FRONT_DOOR,
        ),
        Model("five_tasks (bench/models)", read_model_dir(ROOT / "bench" / "models"), "five_tasks"),
    ]
    for model in models:  # warm-up: first evaluations compile and cache
        for n in range(len(ROUTES)):
            model.case(n)
        model.run = Run()
        model.cpu_seconds.clear()
        model.tree_sizes.clear()
    load_before = os.getloadavg()
    for n in range(args.cases):  # interleaved
        for model in models:
            model.case(n)

    print(
        f"engine per task completion, in memory (Runtime.complete_task; {args.cases} cases per model, "
        f"interleaved; models {args.models_dir}; load {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after, "
        f"on {os.cpu_count()} CPUs)"
    )
    print(
        f"{'model':42} {'tasks':>6} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'CPU p50':>8} {'CPU p95':>8} "
        f"{'tree size':>10}"
    )
    for model in models:
        times = model.run.task_seconds
        print(
            f"{model.name:42} {len(times):>6} {percentile(times, 50):>8.2f} {percentile(times, 95):>8.2f} "
            f"{1000 * statistics.fmean(times):>8.2f} {percentile(model.cpu_seconds, 50):>8.2f} "
            f"{percentile(model.cpu_seconds, 95):>8.2f} {statistics.median(model.tree_sizes):>10.0f}"
        )
        for problem in sorted(set(model.run.wrong)):
            print(f"  ! {problem}")

    if args.profile:
        profile(files, args.cases, host_run=False)
        profile(files, args.cases, host_run=True)


if __name__ == "__main__":
    main()
