"""The five-task benchmark of issue 17: start → 5 user tasks → end, driven over HTTP as SpiffArena was.

What one instance is, exactly as the comparison with SpiffArena measured it (docs/benchmark.md):
  1. POST /api/v1/processes/five_tasks/instances      (start)
  2. GET  /api/v1/tasks?instance_id=ID                 (one task lookup)
  3. 5 x POST /api/v1/tasks/{id}/complete              (each takes the next task from the response)

The model is bench/models (processes/five_tasks.bpmn, forms/five_tasks.*.json), deployed alone into a
scratch database. The server is the production one, `mash serve` (gunicorn) with keep-alive, driven by
one requests.Session; rounds are interleaved with nothing else of ours, and the figures are medians.

Modes (all print, none asserts a time):
  default      one worker, one sequential client: completion median / p95, instances/s, and the SQL one
               completion runs (statements and commits, counted in-process by a SQLAlchemy event listener
               on the same journey through the Flask test client on the same database);
  --scaling    1 worker vs 4 workers with CLIENTS concurrent client processes, rounds interleaved:
               throughput (completions/s) of each and the ratio (use a PostgreSQL --database-url);
  --memory N   resident size (VmRSS) of the one worker at checkpoints while N completions are served.

    .venv/bin/python bench/five_tasks.py [--rounds 5] [--instances 50]
    .venv/bin/python bench/five_tasks.py --scaling --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mash_bench
    .venv/bin/python bench/five_tasks.py --memory 10000
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stage1 import (  # noqa: E402
    DEMO_PASSWORD,
    SCRATCH_PG_DB,
    Server,
    database_description,
    log,
    percentile,
    prepare_postgresql,
    workspace,
)

MODELS = ROOT / "bench" / "models"
PROCESS = "five_tasks"
USER = "masho"  # the model's lane: the demo MASH officer does every step
# The peer's published figures (issue 17; SpiffArena backend, SQLite, uvicorn, same model, 7 rounds x 100)
PEER = {"completion_median_ms": (50.0, 61.0), "instances_per_s": (2.4, 2.9), "statements": (76, 91), "commits": 5}


@dataclass
class Figures:
    completion_seconds: list[float] = field(default_factory=list)
    start_seconds: list[float] = field(default_factory=list)
    lookup_seconds: list[float] = field(default_factory=list)
    instances: int = 0
    wall: float = 0.0
    wrong: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.instances / self.wall if self.wall else 0.0


class Client:
    """One keep-alive session signed in as the model's user (sign-in is not timed)."""

    def __init__(self, base: str):
        import requests

        self.base = base
        self.session = requests.Session()
        response = self.session.post(base + "/api/v1/auth/token", json={"username": USER, "password": DEMO_PASSWORD})
        if response.status_code != 200:
            raise SystemExit(f"cannot sign in as {USER}: {response.text}")
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def timed(self, method: str, path: str, body: dict | None = None):
        t0 = time.perf_counter()
        response = self.session.request(method, self.base + path, json=body)
        return response, time.perf_counter() - t0


def one_instance(client: Client, figures: Figures) -> None:
    """Start, one task lookup, five completions each taking the next task from the completion's answer."""
    response, elapsed = client.timed("POST", f"/api/v1/processes/{PROCESS}/instances", {"data": {}})
    figures.start_seconds.append(elapsed)
    if response.status_code != 201:
        figures.wrong.append(f"start: {response.status_code} {response.text[:200]}")
        return
    instance_id = response.json()["id"]
    response, elapsed = client.timed("GET", f"/api/v1/tasks?instance_id={instance_id}")
    figures.lookup_seconds.append(elapsed)
    tasks = response.json() if response.status_code == 200 else []
    task_id = tasks[0]["id"] if tasks else None
    for step in range(1, 6):
        if task_id is None:
            figures.wrong.append(f"instance {instance_id}: no ready task before step {step}")
            return
        response, elapsed = client.timed(
            "POST", f"/api/v1/tasks/{task_id}/complete", {"data": {"note": f"step {step}"}}
        )
        if response.status_code != 200:
            figures.wrong.append(f"complete step {step}: {response.status_code} {response.text[:200]}")
            return
        figures.completion_seconds.append(elapsed)
        ready = response.json()["ready_tasks"]
        task_id = ready[0]["id"] if ready else None
    if task_id is not None or response.json()["status"] != "completed":
        figures.wrong.append(f"instance {instance_id}: not completed after 5 steps")
    figures.instances += 1


def run_round(client: Client, instances: int) -> Figures:
    figures = Figures()
    began = time.perf_counter()
    for _ in range(instances):
        one_instance(client, figures)
    figures.wall = time.perf_counter() - began
    return figures


# -- SQL per completion, in-process ------------------------------------------------------------------
def sql_per_completion(database_url: str, instances: int = 20) -> dict[str, float]:
    """The same journey through the Flask test client on the same database, counting every statement
    the app sends (SQLAlchemy before_cursor_execute, BEGIN included) and every COMMIT, per request kind."""
    from sqlalchemy import event

    from app import create_app
    from app.config import DevelopmentConfig

    config = type("BenchConfig", (DevelopmentConfig,), {"SQLALCHEMY_DATABASE_URI": database_url, "MODELS_DIR": MODELS})
    app = create_app(config)
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": USER, "password": DEMO_PASSWORD}).json
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    counts = {"statements": 0, "commits": 0, "begins": 0, "selects_after_commit": 0}
    committed = [False]
    with app.app_context():
        from app.extensions import db

        engine = db.engine

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        counts["statements"] += 1
        head = statement.lstrip()[:6].upper()
        if head == "BEGIN ":
            counts["begins"] += 1
        elif committed[0] and head == "SELECT":
            counts["selects_after_commit"] += 1

    def on_commit(conn):
        counts["commits"] += 1
        committed[0] = True

    def on_begin(conn):
        if engine.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE is a statement, seen above
            counts["begins"] += 1

    per_completion: list[dict[str, int]] = []
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "begin", on_begin)
    try:
        for _ in range(instances):
            started = client.post(f"/api/v1/processes/{PROCESS}/instances", json={"data": {}}, headers=headers).json
            task_id = client.get(f"/api/v1/tasks?instance_id={started['id']}", headers=headers).json[0]["id"]
            while task_id:
                before = dict(counts)
                committed[0] = False
                answer = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"note": "x"}}, headers=headers)
                assert answer.status_code == 200, answer.get_data(as_text=True)
                per_completion.append({k: counts[k] - before[k] for k in counts})
                ready = answer.json["ready_tasks"]
                task_id = ready[0]["id"] if ready else None
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "begin", on_begin)
    return {k: statistics.fmean(c[k] for c in per_completion) for k in counts}


# -- scaling: N client processes against one server ----------------------------------------------------------
def _client_process(base: str, instances: int, barrier, queue) -> None:
    client = Client(base)
    one_instance(client, Figures())  # warm this connection
    barrier.wait()
    figures = run_round(client, instances)
    queue.put((figures.completion_seconds, figures.instances, figures.wall, figures.wrong))


def concurrent_round(base: str, clients: int, instances: int) -> tuple[float, float, list[float], list[str]]:
    """`clients` processes each run `instances` instances; returns (completions/s, instances/s, times, problems)."""
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(clients + 1), ctx.Queue()
    procs = [ctx.Process(target=_client_process, args=(base, instances, barrier, queue)) for _ in range(clients)]
    for proc in procs:
        proc.start()
    barrier.wait()
    began = time.perf_counter()
    results = [queue.get() for _ in procs]
    wall = time.perf_counter() - began
    for proc in procs:
        proc.join()
    times = [t for r in results for t in r[0]]
    return len(times) / wall, sum(r[1] for r in results) / wall, times, [w for r in results for w in r[3]]


# -- memory ---------------------------------------------------------------------------------------------
def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# -- main -----------------------------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--instances", type=int, default=50, help="instances per round (default 50)")
    parser.add_argument(
        "--database-url",
        help="default a fresh temporary SQLite file; or "
        f"postgresql+psycopg://postgres@127.0.0.1:5432/{SCRATCH_PG_DB} (emptied first)",
    )
    parser.add_argument("--scaling", action="store_true", help="1 worker vs 4 workers, concurrent clients")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes for --scaling")
    parser.add_argument("--memory", type=int, default=0, metavar="N", help="RSS of the worker over N completions")
    parser.add_argument("--skip-sql", action="store_true", help="do not count SQL in-process")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and server logs")
    parser.add_argument(
        "--compare-with",
        type=Path,
        metavar="DIR",
        help="also serve the app of another checkout (e.g. `git archive` of the commit before a "
        "change, without its bench/) on its own database; rounds alternate between the two",
    )
    return parser.parse_args(argv)


def ms(values: list[float], pct: float) -> str:
    return f"{percentile(values, pct):.1f}"


def main(argv=None) -> None:
    args = parse_args(argv)
    with workspace(args.keep) as tmp:
        url = args.database_url or f"sqlite:///{tmp / 'five_tasks.db'}"
        if url.startswith("postgresql"):
            prepare_postgresql(url)
        database = database_description(url)
        load_before = os.getloadavg()
        if args.scaling:
            scaling(url, tmp, args, database)
        elif args.memory:
            memory(url, tmp, args, database)
        else:
            sequential(url, tmp, args, database, load_before)


def header(database: str, server: str) -> None:
    import platform
    from importlib.metadata import version

    print(f"five-task model (bench/models), {PROCESS}: start -> 5 user tasks -> end")
    print(
        f"  python {platform.python_version()}, SpiffWorkflow {version('SpiffWorkflow')}, "
        f"SQLAlchemy {version('SQLAlchemy')}, {os.cpu_count()} CPUs"
    )
    print(f"  database  {database}")
    print(f"  server    {server}")
    print(f"  load      {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min)")


def compared(url: str, tmp: Path, args) -> dict[str, list[Figures]]:
    """This tree and --compare-with DIR, each on its own SQLite file, rounds alternating."""
    other_url = f"sqlite:///{tmp / 'five_tasks_other.db'}"
    if not url.startswith("sqlite"):
        raise SystemExit("--compare-with runs on SQLite files (one per tree)")
    this = Server(url, MODELS, tmp, kind="serve", workers=1)
    other = Server(other_url, MODELS, tmp, kind="serve", workers=1, tree=args.compare_with.resolve())
    results: dict[str, list[Figures]] = {"this tree": [], str(args.compare_with): []}
    with this, other:
        clients = {"this tree": Client(this.base), str(args.compare_with): Client(other.base)}
        for client in clients.values():
            run_round(client, 5)
        for n in range(args.rounds):
            for name, client in clients.items() if n % 2 == 0 else reversed(clients.items()):
                results[name].append(run_round(client, args.instances))
                log(f"  round {n + 1} {name}: completion p50 {ms(results[name][-1].completion_seconds, 50)} ms")
    return results


def sequential(url: str, tmp: Path, args, database: str, load_before) -> None:
    rounds: list[Figures] = []
    if args.compare_with:
        results = compared(url, tmp, args)
        rounds = results["this tree"]
        description = Server(url, MODELS, tmp).description
        print(f"side by side, rounds alternating ({args.rounds} x {args.instances} instances each):")
        print(f"{'tree':>40} {'complete p50':>13} {'p95':>7} {'round p50s':>22} {'inst/s':>7}")
        for name, figs in results.items():
            every = [t for r in figs for t in r.completion_seconds]
            p50s = sorted(percentile(r.completion_seconds, 50) for r in figs)
            print(
                f"{name:>40} {ms(every, 50):>13} {ms(every, 95):>7} "
                f"{f'{p50s[0]:.1f}-{p50s[-1]:.1f}':>22} {statistics.median(r.per_second for r in figs):>7.1f}"
            )
        print()
    else:
        with Server(url, MODELS, tmp, kind="serve", workers=1) as server:
            client = Client(server.base)
            run_round(client, 5)  # warm: bundle compiled, statement caches, connection open
            for n in range(args.rounds):
                rounds.append(run_round(client, args.instances))
                log(
                    f"  round {n + 1}/{args.rounds}: completion p50 {ms(rounds[-1].completion_seconds, 50)} ms, "
                    f"{rounds[-1].per_second:.1f} instances/s"
                )
            description = server.description
    sql = None if args.skip_sql else sql_per_completion(url)
    every = [t for r in rounds for t in r.completion_seconds]
    header(database, description + "; one client, sequential")
    print(f"  rounds    {args.rounds} x {args.instances} instances (start, one lookup, 5 completions each)")
    print()
    print(f"{'round':>6} {'complete p50':>13} {'complete p95':>13} {'start p50':>10} {'lookup p50':>11} {'inst/s':>8}")
    for n, r in enumerate(rounds, 1):
        print(
            f"{n:>6} {ms(r.completion_seconds, 50):>13} {ms(r.completion_seconds, 95):>13} "
            f"{ms(r.start_seconds, 50):>10} {ms(r.lookup_seconds, 50):>11} {r.per_second:>8.1f}"
        )
    medians = sorted(percentile(r.completion_seconds, 50) for r in rounds)
    rates = sorted(r.per_second for r in rounds)
    print(f"{'all':>6} {ms(every, 50):>13} {ms(every, 95):>13}")
    print()
    lo, hi = PEER["completion_median_ms"]
    ours = statistics.median(medians)
    print(f"{'':28} {'SpiffArena (published)':>24} {'this app (this run)':>22} {'ratio':>8}")
    print(
        f"{'completion median (ms)':28} {f'{lo:.0f}-{hi:.0f}':>24} "
        f"{f'{medians[0]:.1f}-{medians[-1]:.1f}':>22} {f'{lo / ours:.1f}x':>8}"
    )
    print(f"{'completion p95 (ms)':28} {'-':>24} {ms(every, 95):>22}")
    rlo, rhi = PEER["instances_per_s"]
    print(
        f"{'instances/s':28} {f'{rlo}-{rhi}':>24} {f'{rates[0]:.1f}-{rates[-1]:.1f}':>22} "
        f"{f'{statistics.median(rates) / rlo:.1f}x':>8}"
    )
    if sql is not None:
        slo, shi = PEER["statements"]
        print(f"{'SQL statements/completion':28} {f'{slo}-{shi}':>24} {sql['statements']:>22.1f}")
        print(f"{'commits/completion':28} {PEER['commits']:>24} {sql['commits']:>22.1f}")
        print(
            f"  (ours counted in-process on the same database, test client; BEGINs {sql['begins']:.1f}, "
            f"SELECTs after the commit {sql['selects_after_commit']:.1f} per completion)"
        )
    print(
        f"  target: completion median <= 5 ms and p95 <= 10 ms over HTTP -> "
        f"{'met' if ours <= 5 and percentile(every, 95) <= 10 else 'NOT met'}"
    )
    print(f"  load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    for problem in sorted({w for r in rounds for w in r.wrong}):
        print(f"  ! {problem}")


def scaling(url: str, tmp: Path, args, database: str) -> None:
    one = Server(url, MODELS, tmp, kind="serve", workers=1)
    four = Server(url, MODELS, tmp, kind="serve", workers=4, prepare=False)
    results: dict[int, list[tuple[float, float, list[float]]]] = {1: [], 4: []}
    problems: list[str] = []
    with one, four:
        for server in (one, four):
            concurrent_round(server.base, args.clients, 2)  # warm every worker's bundle and pool
        for n in range(args.rounds):
            for workers, server in ((1, one), (4, four)):
                per_s, inst_s, times, wrong = concurrent_round(server.base, args.clients, args.instances)
                results[workers].append((per_s, inst_s, times))
                problems += wrong
                log(f"  round {n + 1}: {workers} worker(s) {per_s:.1f} completions/s")
    header(
        database,
        f"`mash serve --workers 1|4 --keep-alive 5`; {args.clients} concurrent client processes, rounds interleaved",
    )
    print(f"  rounds    {args.rounds} x {args.clients} clients x {args.instances} instances per server")
    print()
    print(f"{'workers':>8} {'completions/s (median)':>23} {'instances/s':>12} {'complete p50':>13} {'p95':>7}")
    med = {}
    for workers, rows in results.items():
        med[workers] = statistics.median(r[0] for r in rows)
        times = [t for r in rows for t in r[2]]
        print(
            f"{workers:>8} {med[workers]:>23.1f} {statistics.median(r[1] for r in rows):>12.2f} "
            f"{ms(times, 50):>13} {ms(times, 95):>7}"
        )
    ratio = med[4] / med[1]
    print(
        f"  4 workers / 1 worker throughput: {ratio:.2f}x (target >= 1.8x per 2 cores: "
        f"{'met' if ratio >= 1.8 else 'NOT met'}; the clients and the database share the same {os.cpu_count()} CPUs)"
    )
    for problem in sorted(set(problems)):
        print(f"  ! {problem}")


def memory(url: str, tmp: Path, args, database: str) -> None:
    rows = []
    with Server(url, MODELS, tmp, kind="serve", workers=1) as server:
        client = Client(server.base)
        run_round(client, 5)
        (pid,) = server.worker_pids()
        done, checkpoints = 0, max(1, args.memory // 5)
        rows.append((0, rss_kib(pid)))
        figures = Figures()
        while len(figures.completion_seconds) < args.memory:
            one_instance(client, figures)
            if len(figures.completion_seconds) // checkpoints > done:
                done = len(figures.completion_seconds) // checkpoints
                rows.append((len(figures.completion_seconds), rss_kib(pid)))
                log(f"  {rows[-1][0]} completions: worker RSS {rows[-1][1] / 1024:.1f} MiB")
        description = server.description
    header(database, description + "; one client, sequential")
    print()
    print(f"{'completions':>12} {'instances':>10} {'worker RSS MiB':>15}")
    for completions, kib in rows:
        print(f"{completions:>12} {completions // 5:>10} {kib / 1024:>15.1f}")
    growth = (rows[-1][1] - rows[1][1]) / 1024 if len(rows) > 2 else 0.0
    print(f"  growth from the first checkpoint to the last: {growth:+.1f} MiB")
    for problem in sorted(set(figures.wrong)):
        print(f"  ! {problem}")


if __name__ == "__main__":
    main()
