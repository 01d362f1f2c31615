"""What the model's constructs cost the engine per step: SpiffWorkflow alone, in memory (no DB, no HTTP).

The Stage 1 route mix of bench/stage1.py runs through `app.engine.Runtime` (the host's evaluator,
FEEL decisions and checks) on three models, cases interleaved so machine load hits each alike:

  front_door            processes/ as deployed;
  front_door, no timers the same with every timer boundary event removed (and its outgoing flows):
                        what the boundary timers cost each step (the routes do not wait for them);
  five_tasks            bench/models: start -> 5 user tasks -> end, the floor.

Per model it prints the median and p95 time of one task completion (Runtime.complete_task, which runs
do_engine_steps twice around refresh_timers), the number of tasks in the tree at the end of a case, and
(with --profile) where the time goes inside SpiffWorkflow for the deployed front door.

    .venv/bin/python bench/engine_steps.py [--cases 21] [--profile]
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

from bench.stage1 import (FRONT_DOOR, ROUTES, Run, as_host_stores, contact_body, engine_seed, percentile,  # noqa: E402
                          pick, stub_operations)

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN}


def without_boundary_timers(source: bytes) -> tuple[bytes, int]:
    """The model with every timer boundary event and its outgoing flows removed (diagram left as is)."""
    for prefix, uri in re.findall(rb'xmlns:(\w+)="([^"]+)"', source):
        ET.register_namespace(prefix.decode(), uri.decode())
    root = ET.fromstring(source)
    removed = 0
    for process in root.iter(f"{{{BPMN}}}process"):
        timers = [e for e in process.findall("bpmn:boundaryEvent", NS) if e.find("bpmn:timerEventDefinition", NS) is not None]
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
    from app.services.roles import ROLES

    install_in_spiff()
    ev = RestrictedEvaluator(build_functions(CLOCK.now, MashCalendar()))
    return build_bundle(files, check_expression=ev.check, engine_factory=FeelDecisionEngine, known_roles=ROLES), ev


class Model:
    def __init__(self, name: str, files: dict[str, bytes], process_id: str):
        self.name, self.process_id = name, process_id
        self.bundle, self.evaluator = bundle_of(files)
        self.run = Run()
        self.tree_sizes: list[int] = []

    def case(self, n: int) -> None:
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
        for bpmn_id, data in steps:
            ready = [t for t in runtime.ready_tasks(workflow) if t.bpmn_id == bpmn_id]
            if not ready:
                self.run.wrong.append(f"{route.name if route else self.name}: {bpmn_id} not ready")
                return
            data = as_host_stores(self.bundle, ready[0], data)
            t0 = time.perf_counter()
            runtime.complete_task(workflow, ready[0].id, data)
            self.run.task_seconds.append(time.perf_counter() - t0)
        self.tree_sizes.append(len(workflow.tasks))
        outcome = workflow.data.get("outcome") or workflow.last_task.data.get("outcome")
        if not workflow.is_completed() or (route is not None and outcome != route.outcome):
            self.run.wrong.append(f"{route.name if route else self.name}: completed={workflow.is_completed()} "
                                  f"outcome={outcome}")


def main(argv=None) -> None:
    from app.services.deployments import read_model_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=21, help="cases per model (default 21: 3 of each route)")
    parser.add_argument("--profile", action="store_true", help="profile the deployed front door's cases")
    args = parser.parse_args(argv)

    files = read_model_dir(ROOT)
    stripped, removed = without_boundary_timers(files[f"processes/{FRONT_DOOR}.bpmn"])
    models = [Model("front_door", files, FRONT_DOOR),
              Model(f"front_door, {removed} boundary timers removed", {**files, f"processes/{FRONT_DOOR}.bpmn": stripped},
                    FRONT_DOOR),
              Model("five_tasks (bench/models)", read_model_dir(ROOT / "bench" / "models"), "five_tasks")]
    for model in models:  # warm-up: first evaluations compile and cache
        for n in range(len(ROUTES)):
            model.case(n)
        model.run = Run()
        model.tree_sizes.clear()
    for n in range(args.cases):  # interleaved
        for model in models:
            model.case(n)

    print(f"engine per task completion, in memory (Runtime.complete_task; {args.cases} cases per model, "
          f"interleaved; load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
    print(f"{'model':42} {'tasks':>6} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'tree size':>10}")
    for model in models:
        times = model.run.task_seconds
        print(f"{model.name:42} {len(times):>6} {percentile(times, 50):>8.2f} {percentile(times, 95):>8.2f} "
              f"{1000 * statistics.fmean(times):>8.2f} {statistics.median(model.tree_sizes):>10.0f}")
        for problem in sorted(set(model.run.wrong)):
            print(f"  ! {problem}")

    if args.profile:
        profiler = cProfile.Profile()
        front = Model("front_door", files, FRONT_DOOR)
        for n in range(len(ROUTES)):
            front.case(n)
        profiler.enable()
        for n in range(args.cases):
            front.case(n)
        profiler.disable()
        stats = pstats.Stats(profiler)
        total = sum(v[3] for k, v in stats.stats.items() if k[2] == "complete_task" and "runtime.py" in k[0])
        print()
        print(f"where the front door's completion time goes (cumulative, share of Runtime.complete_task = "
              f"{total:.2f} s under the profiler)")
        wanted = ("update_waiting_tasks", "_update_hook", "_update", "do_engine_steps", "refresh_timers",
                  "_check_threshold_unstructured", "get_tasks", "_run_hook", "run", "deepcopy", "_advance",
                  "evaluate", "_predict", "_sync_children", "_on_ready", "ready_tasks", "_note_changes")
        rows = []
        for (filename, _line, name), (_cc, calls, _tt, cumulative, _callers) in stats.stats.items():
            if name in wanted and ("SpiffWorkflow" in filename or "/app/" in filename or "copy.py" in filename):
                where = filename.split("site-packages/")[-1].split("/work/main/")[-1]
                rows.append((cumulative, calls, f"{where}:{name}"))
        for cumulative, calls, label in sorted(rows, reverse=True)[:18]:
            print(f"  {100 * cumulative / total:5.1f}%  {calls:>8} calls  {label}")


if __name__ == "__main__":
    main()
