"""The five-task benchmark of issue 17: start → 5 user tasks → end, driven over HTTP as SpiffArena was.

What one instance is, exactly as the comparison with SpiffArena measured it (docs/benchmark.md):
  1. POST /api/v1/processes/five_tasks/instances      (start)
  2. GET  /api/v1/tasks?instance_id=ID                 (one task lookup)
  3. 5 x POST /api/v1/tasks/{id}/complete              (each takes the next task from the response)

The model is bench/models (processes/five_tasks.bpmn, forms/five_tasks.*.json), deployed alone into a
scratch database. The server is the production one, `mash serve` (gunicorn) with keep-alive, driven by
one kept-alive connection (`--client http.client`, the default: the standard library's HTTPConnection,
~0.3 ms of client CPU per request; `--client requests`: one requests.Session, ~1 ms more per request,
what the bench used before; SpiffArena's published figures came from a Python client too); rounds are
interleaved with nothing else of ours, and the figures are medians.

Modes (all print, none asserts a time):
  default      one worker, one sequential client: completion median / p95, instances/s, and the SQL one
               completion runs (statements and commits, counted in-process by a SQLAlchemy event listener
               on the same journey through the Flask test client on the same database);
  --scaling    1 worker vs 4 workers with CLIENTS (default 8) concurrent client processes, rounds
               interleaved: throughput (completions/s) of each and the ratio (use a PostgreSQL
               --database-url), the workers' CPU per completion and the share of the CPUs the bench got;
               the kept-alive connections are balanced over the workers first (`--no-balance`: not);
  --memory N   resident size (VmRSS) of the one worker at checkpoints while N completions are served.

    .venv/bin/python bench/five_tasks.py [--rounds 5] [--instances 50]
    .venv/bin/python bench/five_tasks.py --scaling --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mash_bench
    .venv/bin/python bench/five_tasks.py --memory 10000
"""

from __future__ import annotations

import argparse
import http.client
import json
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


class Answer:
    """What the bench reads of an HTTP answer (the same for both clients)."""

    def __init__(self, status_code: int, body: bytes):
        self.status_code, self.body = status_code, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


CLIENTS = ("http.client", "requests")
CLIENT_NAMES = {"http.client": "http.client.HTTPConnection", "requests": "requests.Session"}


class Client:
    """One keep-alive connection signed in as the model's user (sign-in is not timed).

    `http.client` (the default): the standard library's HTTPConnection, one persistent connection,
    JSON encoded and decoded by the bench: about 0.3 ms of client CPU per request, so the figures are
    mostly the server's. `requests`: one requests.Session (what the bench used before; about 1 ms more
    client CPU per request, which lands in every timed request). Both send the same requests, keep the
    connection alive and read the whole answer inside the timed span."""

    IDLE_RECONNECT_SECONDS = 1.0  # a connection idle longer may have been closed by the server's keep-alive

    def __init__(self, base: str, kind: str = "http.client"):
        if kind not in CLIENTS:
            raise SystemExit(f"--client must be one of {CLIENTS}")
        self.base, self.kind = base, kind
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.headers = {"Content-Type": "application/json"}
        self.connection: http.client.HTTPConnection | None = None
        self.session = None
        self.last_used = 0.0
        if kind == "requests":
            import requests

            self.session = requests.Session()
        answer = self.request("POST", "/api/v1/auth/token", {"username": USER, "password": DEMO_PASSWORD})
        if answer.status_code != 200:
            raise SystemExit(f"cannot sign in as {USER}: {answer.text}")
        self.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        if self.session is not None:
            self.session.headers["Authorization"] = self.headers["Authorization"]

    # -- the connection ----------------------------------------------------------------------------------
    def reconnect(self) -> None:
        """Open a new connection (untimed); the next request goes over it."""
        if self.session is not None:
            self.session.close()
            self.request("GET", "/")  # urllib3 connects lazily
            return
        if self.connection is not None:
            self.connection.close()
        self.connection = http.client.HTTPConnection(self.host, self.port)
        self.connection.connect()
        self.last_used = time.monotonic()

    def local_port(self) -> int | None:
        """This client's end of its connection, to find which server worker holds it (None: unknown)."""
        try:
            if self.session is None:
                return self.connection.sock.getsockname()[1]
            manager = self.session.get_adapter(self.base).poolmanager
            # urllib3's pools (its container refuses plain iteration): the one connection this session kept open
            for key in manager.pools.keys():  # noqa: SIM118
                for connection in manager.pools[key].pool.queue:
                    if connection is not None and getattr(connection, "sock", None) is not None:
                        return connection.sock.getsockname()[1]
        except (AttributeError, KeyError, OSError):
            pass
        return None

    def request(self, method: str, path: str, body: dict | None = None) -> Answer:
        if self.session is not None:
            response = self.session.request(method, self.base + path, json=body)
            return Answer(response.status_code, response.content)
        payload = None if body is None else json.dumps(body)
        for attempt in (1, 2):
            if self.connection is None or time.monotonic() - self.last_used > self.IDLE_RECONNECT_SECONDS:
                self.reconnect()
            try:
                self.connection.request(method, path, body=payload, headers=self.headers)
                response = self.connection.getresponse()
                answer = Answer(response.status, response.read())
                self.last_used = time.monotonic()
                return answer
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # the server closed an idle keep-alive connection before reading this request: send it again
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def timed(self, method: str, path: str, body: dict | None = None) -> tuple[Answer, float]:
        if self.session is None and (
            self.connection is None or time.monotonic() - self.last_used > self.IDLE_RECONNECT_SECONDS
        ):
            self.reconnect()  # outside the timed span, as requests' pool does when it finds a dropped one
        t0 = time.perf_counter()
        answer = self.request(method, path, body)
        return answer, time.perf_counter() - t0


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
def _client_process(base: str, kind: str, instances: int, control, barrier, queue) -> None:
    client = Client(base, kind)
    one_instance(client, Figures())  # warm this connection (and the worker holding it)
    while True:  # the parent may ask for a new connection until the workers hold equal shares
        control.send(client.local_port())
        if control.recv() != "reconnect":
            break
        client.reconnect()
        one_instance(client, Figures())  # warm the worker this connection landed on
    barrier.wait()
    cpu0 = time.process_time()
    figures = run_round(client, instances)
    queue.put((figures.completion_seconds, figures.instances, figures.wall, figures.wrong, time.process_time() - cpu0))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connection_owners(server: Server) -> dict[int, int]:
    """Which worker holds each established connection to the server's port: {client port: worker pid}
    (read from /proc: the workers' socket inodes and the kernel's TCP table)."""
    inode_pid: dict[str, int] = {}
    for pid in server.worker_pids():
        fd_dir = Path(f"/proc/{pid}/fd")
        for fd in fd_dir.iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inode_pid[target[8:-1]] = pid
    owners: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            parts = line.split()
            local, remote, state, inode = parts[1], parts[2], parts[3], parts[9]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == server.port and inode in inode_pid:
                owners[int(remote.rsplit(":", 1)[1], 16)] = inode_pid[inode]
    return owners


@dataclass
class ConcurrentRound:
    completions_per_s: float
    instances_per_s: float
    times: list[float]
    wrong: list[str]
    connections: list[int]  # connections held by each worker, most first
    server_cpu_ms: float  # the workers' CPU per completion
    client_cpu_ms: float  # the client processes' CPU per completion
    share: float  # server + clients CPU over the round / (CPUs x wall): what this bench got of the machine


def concurrent_round(server: Server, clients: int, instances: int, kind: str, balance: bool = True) -> ConcurrentRound:
    """`clients` processes each run `instances` instances over their own keep-alive connection.

    A threaded gunicorn worker accepts any number of connections, and a kept-alive connection stays with
    the worker that accepted it, so which worker gets which client is a race decided when the clients
    connect: 4 clients on 4 workers were often held 3 + 1 or 2 + 1 + 1, leaving workers idle however
    long the round. With `balance` the clients whose worker holds more than its share reconnect (before
    the timed round, each new connection warmed) until every worker holds clients / workers of them,
    as a load balancer or many independent clients would spread them."""
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(clients + 1), ctx.Queue()
    pipes = [ctx.Pipe() for _ in range(clients)]
    procs = [
        ctx.Process(target=_client_process, args=(server.base, kind, instances, child, barrier, queue))
        for _, child in pipes
    ]
    for proc in procs:
        proc.start()
    workers = server.worker_pids()
    fair = -(-clients // len(workers))  # ceiling
    ports = [parent.recv() for parent, _ in pipes]
    for _attempt in range(100):
        owners = connection_owners(server)
        held: dict[int, int] = {}
        again: list[int] = []
        for n, port in enumerate(ports):
            pid = owners.get(port)
            held[pid] = held.get(pid, 0) + 1
            if balance and (pid is None or held[pid] > fair):
                again.append(n)
        if not again:
            break
        for n in again:
            pipes[n][0].send("reconnect")
            ports[n] = pipes[n][0].recv()
    for parent, _ in pipes:
        parent.send("go")
    connections = sorted((held.get(pid, 0) for pid in workers), reverse=True)
    cpu0 = sum(cpu_seconds(pid) for pid in workers)
    barrier.wait()
    began = time.perf_counter()
    results = [queue.get() for _ in procs]
    wall = time.perf_counter() - began
    server_cpu = sum(cpu_seconds(pid) for pid in workers) - cpu0
    for proc in procs:
        proc.join()
    times = [t for r in results for t in r[0]]
    client_cpu = sum(r[4] for r in results)
    return ConcurrentRound(
        completions_per_s=len(times) / wall,
        instances_per_s=sum(r[1] for r in results) / wall,
        times=times,
        wrong=[w for r in results for w in r[3]],
        connections=connections,
        server_cpu_ms=1000 * server_cpu / max(1, len(times)),
        client_cpu_ms=1000 * client_cpu / max(1, len(times)),
        share=(server_cpu + client_cpu) / ((os.cpu_count() or 1) * wall),
    )


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
    parser.add_argument(
        "--clients",
        type=int,
        default=8,
        help="concurrent client processes for --scaling (default 8: two per worker of the 4-worker server, so "
        "a worker has the next request waiting while its other client reads an answer)",
    )
    parser.add_argument(
        "--no-balance",
        action="store_true",
        help="--scaling: keep the connections where the workers' accept race put them",
    )
    parser.add_argument(
        "--client",
        choices=CLIENTS,
        default="http.client",
        help="HTTP client (default http.client: ~0.3 ms client CPU per request; requests: ~1 ms more)",
    )
    parser.add_argument("--threads", type=int, default=1, help="`mash serve --threads` (default 1)")
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
    this = Server(url, MODELS, tmp, kind="serve", workers=1, threads=args.threads)
    other = Server(
        other_url, MODELS, tmp, kind="serve", workers=1, tree=args.compare_with.resolve(), threads=args.threads
    )
    results: dict[str, list[Figures]] = {"this tree": [], str(args.compare_with): []}
    with this, other:
        clients = {"this tree": Client(this.base, args.client), str(args.compare_with): Client(other.base, args.client)}
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
        description = Server(url, MODELS, tmp, threads=args.threads).description
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
        with Server(url, MODELS, tmp, kind="serve", workers=1, threads=args.threads) as server:
            client = Client(server.base, args.client)
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
    header(database, description + f"; one {CLIENT_NAMES[args.client]}, sequential")
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
    one = Server(url, MODELS, tmp, kind="serve", workers=1, threads=args.threads)
    four = Server(url, MODELS, tmp, kind="serve", workers=4, prepare=False, threads=args.threads)
    results: dict[int, list[ConcurrentRound]] = {1: [], 4: []}
    balance = not args.no_balance
    with one, four:
        for server in (one, four):
            concurrent_round(server, args.clients, 2, args.client, balance)  # warm every worker's bundle and pool
        for n in range(args.rounds):
            for workers, server in ((1, one), (4, four)) if n % 2 == 0 else ((4, four), (1, one)):
                r = concurrent_round(server, args.clients, args.instances, args.client, balance)
                results[workers].append(r)
                log(
                    f"  round {n + 1}: {workers} worker(s) {r.completions_per_s:.1f} completions/s, "
                    f"connections per worker {r.connections}, server CPU {r.server_cpu_ms:.1f} ms/completion, "
                    f"this bench had {r.share:.0%} of the CPUs, load {os.getloadavg()[0]:.2f}"
                )
    header(
        database,
        f"`mash serve --workers 1|4 --keep-alive {one.keep_alive} --threads {args.threads}`; {args.clients} concurrent "
        f"client processes ({CLIENT_NAMES[args.client]} each), rounds interleaved; connections "
        + ("balanced (each worker holds clients/workers of them)" if balance else "where the accept race put them"),
    )
    print(f"  rounds    {args.rounds} x {args.clients} clients x {args.instances} instances per server")
    print()
    print(
        f"{'workers':>8} {'completions/s':>14} {'instances/s':>12} {'complete p50':>13} {'p95':>7} "
        f"{'server CPU ms/c':>16} {'client CPU ms/c':>16} {'CPU share':>10} {'connections (last round)':>25}"
    )
    med = {}
    for workers, rows in results.items():
        med[workers] = statistics.median(r.completions_per_s for r in rows)
        times = [t for r in rows for t in r.times]
        print(
            f"{workers:>8} {med[workers]:>14.1f} {statistics.median(r.instances_per_s for r in rows):>12.2f} "
            f"{ms(times, 50):>13} {ms(times, 95):>7} {statistics.median(r.server_cpu_ms for r in rows):>16.2f} "
            f"{statistics.median(r.client_cpu_ms for r in rows):>16.2f} "
            f"{statistics.median(r.share for r in rows):>10.0%} {rows[-1].connections!s:>25}"
        )
    ratios = sorted(b.completions_per_s / a.completions_per_s for a, b in zip(results[1], results[4], strict=True))
    ratio = med[4] / med[1]
    print(
        f"  4 workers / 1 worker throughput: {ratio:.2f}x (ratio of medians; per round pair "
        f"{ratios[0]:.2f}-{ratios[-1]:.2f}x); target >= 1.8x per 2 cores: {'met' if ratio >= 1.8 else 'NOT met'}"
    )
    print(
        f"  the clients, PostgreSQL and both servers share these {os.cpu_count()} CPUs; 'CPU share' is the workers' "
        f"and clients' CPU time over (CPUs x wall) (PostgreSQL's not counted): well under 100 % with idle workers "
        f"means the machine's other load took the rest"
    )
    for problem in sorted({w for rows in results.values() for r in rows for w in r.wrong}):
        print(f"  ! {problem}")


def memory(url: str, tmp: Path, args, database: str) -> None:
    rows = []
    with Server(url, MODELS, tmp, kind="serve", workers=1, threads=args.threads) as server:
        client = Client(server.base, args.client)
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
    header(database, description + f"; one {CLIENT_NAMES[args.client]}, sequential")
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
