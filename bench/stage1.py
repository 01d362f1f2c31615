"""Stage 1 benchmark: the same mix of front-door cases through the bare engine and through the HTTP API.

Why three measurements:
  (a) the diagrams in in-memory SpiffWorkflow through `app.engine` only (no DB, no HTTP): the floor
      the process model itself costs;
  (b) the same mix through the HTTP API of a real running server (`mash run`) on a fresh database:
      what a practitioner waits for; b/a says how much the host (state dump/restore, inbox
      projection, history chain, access checks, JSON, HTTP) adds on top of the engine;
  (c) task completion through the API with 100 and 100 000 stored instances, filled by bulk SQL
      (bench/fill.py): whether anything the API does grows with the size of the database.

It prints figures (table on stdout, progress on stderr) and asserts nothing: a case that does not
reach its expected outcome is reported, not failed, so the numbers are always shown.

    .venv/bin/python bench/stage1.py [--cases 30] [--sizes 100,100000] [--cases-per-size 20]
                                     [--skip-http] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/mash_bench]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Config  # noqa: E402  (needs ROOT on sys.path when run as a script)

MASH = ROOT / ".venv" / "bin" / "mash"
DEMO_PASSWORD = "demo-password"
FRONT_DOOR = "front_door"
SCRATCH_PG_DB = "mash_bench"
# Who does a ready task, by the task's lane (role) and team: the demo users of `mash demo`.
USER_FOR = {
    ("masho", None): "masho",
    ("decision_maker", None): "decision_maker",
    ("eh_decision_maker", None): "eh_decision_maker",
    ("mash_manager", None): "mash_manager",
    ("eh_manager", None): "eh_manager",
    ("business_support", None): "business_support",
    ("receiving_team", "daat"): "daat_worker",
    ("receiving_team", "first_response"): "first_response_worker",
    ("receiving_team", "early_help"): "early_help_worker",
    ("receiving_team", "disabled_children"): "disabled_children_worker",
    ("receiving_team", "domestic_abuse_screening"): "da_screener",
    ("partner", None): "police_partner",  # Stage 2 asks the police only (the bench's partner answers)
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the case mix (form data exactly as tests/api/cases/test_stage1_routes.py submits it) -----------------
RECORD = {
    "appendix_a_q1": "Unexplained bruising seen by the teacher.",
    "consent": "obtained",
    "consent_given_by": "Mother",
    "safety_scale": 5,
    "request_type": "service_request",
    "information_only": False,
    "red_criteria": [],
    "manager_attention_criteria": [],
    "other_children": [],
}
HISTORY = {"confirmed_matches": [], "case_system_checks": [], "synopsis": "No previous involvement found."}
TRIAGE = {
    "closed_within_12_weeks_same_concerns": False,
    "risk_may_become_significant_harm": False,
    "meets_disability_criteria": False,
    "analysis": "Analysis of the concerns.",
    "transfer_to_social_care": False,
}
AGREE = {"manager_decision": "agree", "family_notification": "send"}
ACK = ("send_acknowledgement", {"acknowledged_at": "2026-11-24T11:00:00+00:00", "acknowledgement_method": "phone"})
REFERRER_LETTER = ("send_referrer_letter", {"sent_at": "2026-11-24T15:00:00+00:00", "letter_method": "email"})
FAMILY_LETTER = (
    "send_family_letter",
    {"family_letter_sent_at": "2026-11-24T15:00:00+00:00", "family_letter_method": "post"},
)
Step = tuple[str, dict]


@dataclass(frozen=True)
class Route:
    """One Stage 1 route: contact fields, the user tasks in the order people do them, the outcome expected."""

    name: str
    steps: tuple[Step, ...]
    outcome: str
    contact: dict = field(default_factory=dict)


def _intake(**record: Any) -> tuple[Step, ...]:
    return (("record_contact", {**RECORD, **record}), ("history_check", HISTORY))


ROUTES = (
    Route(
        "s17_green",
        (
            *_intake(),
            ("allocate", {"allocate_to": "decision_maker"}),
            ("triage_social_care", {**TRIAGE, "threshold": "s17"}),
            ("sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"}),
            ("handover", {"handover_accepted": True}),
            ACK,
            REFERRER_LETTER,
            FAMILY_LETTER,
        ),
        "s17_assessment",
    ),
    Route(
        "s47_red",
        (
            *_intake(red_criteria=["other"], red_criteria_other="Child says they are scared to go home"),
            ("confirm_red", {"red_confirmed": True}),
            ("allocate", {"allocate_to": "decision_maker"}),
            ("triage_social_care", {**TRIAGE, "threshold": "s47"}),
            ("sign_off_social_care", {**AGREE, "agreed_rag": "RED"}),
            ("handover", {"handover_accepted": True}),
            (
                "phone_referrer",
                {
                    "phoned_at": "2026-11-24T12:00:00+00:00",
                    "spoke_to": "Ann Teacher",
                    "family_phoned_at": "2026-11-24T12:10:00+00:00",
                },
            ),
            ACK,
        ),
        "s47_strategy",
    ),
    Route(
        "nfa",
        (
            *_intake(),
            ("allocate", {"allocate_to": "decision_maker"}),
            ("triage_social_care", {**TRIAGE, "threshold": "not_met"}),
            (
                "sign_off_social_care",
                {
                    **AGREE,
                    "agreed_rag": "NONE",
                    "family_notification": "withhold",
                    "family_notification_reason": "Would increase risk to the parent",
                },
            ),
            ACK,
            REFERRER_LETTER,
        ),
        "nfa",
    ),
    Route(
        "early_help",
        (
            *_intake(),
            ("allocate", {"allocate_to": "eh_decision_maker"}),
            ("triage_early_help", {**TRIAGE, "threshold": "early_help"}),
            ("sign_off_early_help", {**AGREE, "agreed_rag": "GREEN"}),
            ("handover", {"handover_accepted": True}),
            ACK,
            REFERRER_LETTER,
            FAMILY_LETTER,
        ),
        "early_help",
    ),
    Route(
        "information_given",
        (
            *_intake(request_type="advice", information_only=True),
            ("give_information", {"information_given_detail": "Signposted to the local family hub."}),
            ACK,
        ),
        "information_given",
    ),
    Route(
        "domestic_abuse",
        (
            *_intake(request_type="domestic_abuse"),
            (
                "domestic_abuse_screening",
                {"screening_outcome": "safety_plan_agreed", "screening_notes": "Safety plan agreed with mother"},
            ),
            ACK,
        ),
        "passed_to_domestic_abuse_screening",
        {"channel": "domestic_abuse_notification"},
    ),
    Route(
        "unclear_stage2",
        (
            *_intake(),
            ("allocate", {"allocate_to": "decision_maker"}),
            ("triage_social_care", {**TRIAGE, "threshold": "unclear"}),
            ("sign_off_social_care", {**AGREE, "agreed_rag": "AMBER"}),
            (
                "stage2_request",
                {
                    "agencies": ["police"],
                    "request_details": "Unexplained bruising: what is known?",
                    "agency_reasons": [{"agency": "police", "reason": "Domestic incidents at the address"}],
                },
            ),
            (
                "partner_answer",
                {
                    "agency_response": {
                        "information": [{"text": "No police involvement", "verified": True}],
                        "analysis": "No known risk",
                        "recommendation": "Early help",
                    }
                },
            ),
            (
                "stage2_collation",
                {
                    "revised_rag": "GREEN",
                    "rag_reason": "Partners report support in place",
                    "recommended_outcome": "early_help",
                    "rationale": "Needs met by EH",
                },
            ),
            ("stage2_review", {"manager_decision": "agree"}),
            ("handover", {"handover_accepted": True}),
            ACK,
            REFERRER_LETTER,
            FAMILY_LETTER,
        ),
        "early_help",
    ),
)


def contact_body(route: Route, n: int) -> dict:
    """A spec §10 contact; a different child per case, so case-index searches stay realistic."""
    return {
        "received_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "channel": "phone",
        "referrer": {
            "name": "Ann Teacher",
            "agency": "education",
            "role": "DSL",
            "phone": "01604 000000",
            "relationship": "teacher",
            "anonymous": False,
        },
        "child": {
            "first_name": f"Bench{n}",
            "last_name": "Child",
            "gender": "male",
            "address": "1 High Street",
            "date_of_birth": f"{2008 + n % 17}-{1 + n % 12:02d}-{1 + n % 28:02d}",
        },
        "summary": "Bruise on the arm, unexplained.",
        **route.contact,
    }


def pick(n: int) -> Route:
    return ROUTES[n % len(ROUTES)]


# -- figures ------------------------------------------------------------------------------------------
@dataclass
class Run:
    """Timings of one measured run: per case (s), per task completion (s), and outcomes reached."""

    case_seconds: list[float] = field(default_factory=list)
    task_seconds: list[float] = field(default_factory=list)
    inbox_seconds: list[float] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    wall: float = 0.0

    @property
    def cases_per_second(self) -> float:
        return len(self.case_seconds) / self.wall if self.wall else 0.0

    @property
    def mean_case_ms(self) -> float:
        return 1000 * statistics.fmean(self.case_seconds) if self.case_seconds else 0.0


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile in ms (no interpolation: with few samples it is an observed value)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return 1000 * ordered[int(rank) - 1]


# -- (a) the bare engine --------------------------------------------------------------------------------
def stub_operations() -> dict[str, Callable[..., Any]]:
    """The host operations the diagrams call, answered without a database."""
    return {
        "case_index.search": lambda **_: [],
        "case_index.summarise": lambda **_: {
            "open_case": "none",
            "closed_within_12_weeks": False,
            "closing_team": None,
            "allocated_team": None,
            "allocated_worker": None,
            "lead_professional": None,
            "closed_on": None,
            "contacts_last_12_months": 0,
            "previous_contacts": [],
        },
        "case_index.record_outcome": lambda **_: {"recorded": True},
        "alert.raise": lambda **_: {"alerted": True},
        "case.read": lambda names: dict.fromkeys(names),
        "contacts.add_children": lambda children=None, **_: [],
        "audit_sampling.next_draw": lambda **_: {},
        "audit_sampling.draw": lambda **_: {},
    }


def engine_bundle(models_dir: Path):
    """Build the bundle exactly as app/services/core/engine_host.py does (same evaluator, checks and roles)."""
    from app.engine.calendar import MashCalendar
    from app.engine.clock import CLOCK, install_in_spiff
    from app.engine.evaluator import RestrictedEvaluator
    from app.engine.functions import build_functions
    from app.engine.loader import build_bundle
    from app.engine.runtime import FeelDecisionEngine
    from app.services.core.roles import ROLES
    from app.services.modelling.deployments import read_model_dir

    install_in_spiff()
    ev = RestrictedEvaluator(build_functions(CLOCK.now, MashCalendar()))
    bundle = build_bundle(
        read_model_dir(models_dir), check_expression=ev.check, engine_factory=FeelDecisionEngine, known_roles=ROLES
    )
    return bundle, ev


def engine_seed(body: dict, n: int) -> dict:
    """The start data app/services/cases/contacts.py start_contact gives the engine."""
    child = body["child"]
    return {
        "contact_id": n,
        "instance_id": n,
        "received_at": body["received_at"],
        "channel": body["channel"],
        "referrer": body.get("referrer") or {},
        "child": child,
        "adults": body.get("adults") or [],
        "summary": body.get("summary"),
        "request_type": body.get("request_type"),
        "information_only": bool(body.get("information_only", False)),
        "red_criteria": [],
        "manager_attention_criteria": [],
        "consent": body.get("consent"),
        "acknowledges_contact": True,
    }


def as_host_stores(bundle, task, data: dict) -> dict:
    """What the host hands the engine for a whole form, as the API client sends it: the form prefilled
    from the task's data, the route's answers on top, and every editable field not sent as null
    (app.services.core.forms.validate_submission, without the validation)."""
    from app.services.core.forms import declared_fields, editable_fields

    schema = bundle.forms.get(task.form) or {}
    ui_schema = bundle.forms.get((task.form or "").replace(".schema.json", ".uischema.json")) or {}
    prefilled = {k: task.data[k] for k in declared_fields(schema) if task.data.get(k) is not None}
    return {**dict.fromkeys(editable_fields(schema, ui_schema)), **prefilled, **data}


def engine_case(bundle, ev, route: Route, n: int, run: Run, round_trip: bool) -> None:
    """One case in memory; with round_trip, dump and restore the state around each task as the host does."""
    from app.engine.runtime import Runtime

    began = time.perf_counter()
    runtime = Runtime(bundle, ev, stub_operations())
    workflow = runtime.start(FRONT_DOOR, engine_seed(contact_body(route, n), n))
    state = runtime.dump(workflow) if round_trip else None
    for bpmn_id, data in route.steps:
        t0 = time.perf_counter()
        if round_trip:
            runtime = Runtime(bundle, ev, stub_operations())
            workflow = runtime.restore(FRONT_DOOR, state)
        ready = [t for t in runtime.ready_tasks(workflow) if t.bpmn_id == bpmn_id]
        if not ready:
            run.wrong.append(f"{route.name}: {bpmn_id} not ready")
            break
        runtime.complete_task(workflow, ready[0].id, as_host_stores(bundle, ready[0], data))
        if round_trip:
            state = runtime.dump(workflow)
            runtime.ready_tasks(workflow)
        run.task_seconds.append(time.perf_counter() - t0)
    run.case_seconds.append(time.perf_counter() - began)
    outcome = workflow.data.get("outcome") or workflow.last_task.data.get("outcome")
    if not workflow.is_completed() or outcome != route.outcome:
        run.wrong.append(f"{route.name}: completed={workflow.is_completed()} outcome={outcome}")


def bench_engine(models_dir: Path, cases: int, round_trip: bool = False) -> Run:
    bundle, ev = engine_bundle(models_dir)
    for n in range(min(cases, 3)):  # warm-up: first evaluations compile and cache
        engine_case(bundle, ev, pick(n), n, Run(), round_trip)
    run = Run()
    began = time.perf_counter()
    for n in range(cases):
        engine_case(bundle, ev, pick(n), n, run, round_trip)
    run.wall = time.perf_counter() - began
    return run


# -- (b) the HTTP API of a running server -----------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_postgresql(url: str) -> None:
    """Create the scratch database if missing and empty it; never the shared `test` database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if target.database in (None, "", "test", "postgres", "template0", "template1"):
        raise SystemExit(f"refusing to bench on database {target.database!r}: use a scratch one like {SCRATCH_PG_DB}")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": target.database}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    scratch = create_engine(target)
    with scratch.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    scratch.dispose()


SERVE_KEEP_ALIVE = 5  # seconds: `mash serve --keep-alive` (threaded workers that keep connections open)


class Server:
    """A server on a free port against its own database, after `mash db upgrade` and `mash demo`.

    kind "serve": the production server (`mash serve`: gunicorn, `workers` processes of `threads` threads,
    keep-alive so one requests.Session reuses its connection); kind "run": the development server (`mash run`: Flask's
    threaded server, a new connection per request)."""

    def __init__(
        self,
        database_url: str,
        models_dir: Path,
        workdir: Path,
        kind: str = "serve",
        workers: int = 1,
        keep_alive: int = SERVE_KEEP_ALIVE,
        prepare: bool = True,
        tree: Path | None = None,
        threads: int = 1,
    ):
        self.kind, self.workers, self.keep_alive, self.prepare = kind, workers, keep_alive, prepare
        self.threads = threads
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "MASH_CONFIG": "development",
            "MASH_DATABASE_URL": database_url,
            "MASH_MODELS_DIR": str(models_dir),
            "FLASK_DEBUG": "0",
        }
        if tree is not None:  # another checkout's `app` (e.g. the code before a change), same virtualenv
            self.env["PYTHONPATH"] = str(tree)
        self.log_path = workdir / f"server-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def mash(self, *args: str) -> None:
        result = subprocess.run([str(MASH), *args], env=self.env, capture_output=True, text=True)
        if result.returncode:
            raise SystemExit(f"mash {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        log(f"  mash {' '.join(args)}: {result.stdout.strip()}")

    def __enter__(self) -> Server:
        import requests

        if self.prepare:
            self.mash("db", "upgrade")
            self.mash("demo")
        self.log_file = open(self.log_path, "w")
        if self.kind == "serve":
            command = [
                str(MASH),
                "serve",
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--keep-alive",
                str(self.keep_alive),
                "--threads",
                str(self.threads),
            ]
        else:
            command = [str(MASH), "run", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(command, env=self.env, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited early; see {self.log_path}")
            try:
                if requests.get(self.base + "/", timeout=2).status_code == 200:
                    log(f"  server up on {self.base} (pid {self.process.pid})")
                    return self
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or slow on a loaded machine
                time.sleep(0.2)
        raise SystemExit(f"server did not answer within 60 s; see {self.log_path}")

    @property
    def description(self) -> str:
        if self.kind == "serve":
            threads = f" --threads {self.threads}" if self.threads != 1 else ""
            return (
                f"`mash serve --workers {self.workers} --keep-alive {self.keep_alive}{threads}` (gunicorn, threaded "
                f"workers, connections kept alive)"
            )
        return "`mash run` (Flask development server, threaded, Connection: close)"

    def worker_pids(self) -> list[int]:
        """The processes answering requests: gunicorn's workers (children of the master), or the server itself."""
        if self.kind != "serve":
            return [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def __exit__(self, *_exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


class ApiClient:
    """One requests.Session; a bearer token per demo user, signed in once (not timed)."""

    def __init__(self, base: str):
        import requests

        self.base = base
        self.session = requests.Session()
        self.tokens: dict[str, str] = {}

    def call(self, method: str, username: str, path: str, body: dict | None = None) -> tuple[int, Any, float]:
        if username not in self.tokens:
            response = self.session.post(
                self.base + "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}
            )
            if response.status_code != 200:
                raise SystemExit(f"cannot sign in as {username}: {response.text}")
            self.tokens[username] = response.json()["access_token"]
        t0 = time.perf_counter()
        response = self.session.request(
            method, self.base + path, json=body, headers={"Authorization": f"Bearer {self.tokens[username]}"}
        )
        elapsed = time.perf_counter() - t0
        return response.status_code, response.json(), elapsed


def user_for(task: dict) -> str:
    return USER_FOR[(task["role"], task.get("team"))]


def api_case(api: ApiClient, route: Route, n: int, run: Run) -> int:
    """One case as the people who would do it: open the inbox for the case, complete the task."""
    began = time.perf_counter()
    status, created, _ = api.call("POST", "masho", "/api/v1/contacts", contact_body(route, n))
    if status != 201:
        raise SystemExit(f"contact refused ({status}): {created}")
    instance_id = created["instance_id"]
    ready = [{"bpmn_id": "record_contact", "role": "masho", "team": None}]
    case: dict = {}
    for bpmn_id, data in route.steps:
        mine = [t for t in ready if t["bpmn_id"] == bpmn_id]
        if not mine:
            run.wrong.append(f"{route.name}: {bpmn_id} not ready (waiting on {[t['bpmn_id'] for t in ready]})")
            break
        username = user_for(mine[0])
        status, inbox, elapsed = api.call("GET", username, f"/api/v1/tasks?instance_id={instance_id}&include=form")
        run.inbox_seconds.append(elapsed)
        task = next((t for t in inbox if t["bpmn_id"] == bpmn_id), None) if status == 200 else None
        if task is None:
            run.wrong.append(f"{route.name}: {username} does not see {bpmn_id} ({status})")
            break
        fields = (task["form"]["schema"].get("properties") or {}).keys()  # a whole form, prefilled from the case
        body = {**{k: task["data"][k] for k in fields if task["data"].get(k) is not None}, **data}
        status, case, elapsed = api.call("POST", username, f"/api/v1/tasks/{task['id']}/complete", {"data": body})
        if status != 200:
            run.wrong.append(f"{route.name}: {bpmn_id} -> {status} {json.dumps(case)[:300]}")
            break
        run.task_seconds.append(elapsed)
        if "status" not in case:  # a partner's answer echoes only its own open requests: read the case as
            status, case, _ = api.call("GET", "masho", f"/api/v1/instances/{instance_id}")  # the MASH (untimed)
        ready = case["ready_tasks"]
    run.case_seconds.append(time.perf_counter() - began)
    if case.get("status") != "completed" or case.get("outcome") != route.outcome:
        run.wrong.append(f"{route.name}: status={case.get('status')} outcome={case.get('outcome')}")
    return instance_id


def bench_api(api: ApiClient, cases: int, first: int = 0) -> Run:
    run = Run()
    began = time.perf_counter()
    for n in range(first, first + cases):
        api_case(api, pick(n), n, run)
        if (n - first + 1) % 10 == 0:
            log(f"  {n - first + 1}/{cases} cases through the API")
    run.wall = time.perf_counter() - began
    return run


def warm_up(api: ApiClient) -> None:
    """Sign every demo user in and run one case per route, so (b) measures a warm server."""
    for n, route in enumerate(ROUTES):
        api_case(api, route, 10_000 + n, Run())


# -- (c) sizes ---------------------------------------------------------------------------------------
def template_instance(api: ApiClient) -> int:
    """A real instance, created through the API and left at its record_contact step, to copy rows from."""
    status, created, _ = api.call("POST", "masho", "/api/v1/contacts", contact_body(ROUTES[0], 99_999))
    if status != 201:
        raise SystemExit(f"template contact refused ({status}): {created}")
    return created["instance_id"]


@dataclass
class SizeRow:
    stored: int
    fill_seconds: float
    run: Run


def bench_sizes(api: ApiClient, database_url: str, sizes: list[int], cases: int) -> list[SizeRow]:
    from bench.fill import bulk_engine, count_instances, fill, read_template

    engine = bulk_engine(database_url)
    template = read_template(engine, template_instance(api))
    rows = []
    for target in sorted(sizes):
        have = count_instances(engine)
        t0 = time.perf_counter()
        if target > have:
            log(f"  filling {target - have} instances (bulk SQL) to reach {target}")
            fill(engine, template, target - have, progress=log)
        fill_seconds = time.perf_counter() - t0
        stored = count_instances(engine)
        log(f"  {stored} stored instances: {cases} cases through the API")
        bench_api(api, min(3, cases), first=20_000 + target)  # re-warm caches after the bulk load
        rows.append(SizeRow(stored, fill_seconds, bench_api(api, cases, first=30_000 + target)))
    engine.dispose()
    return rows


# -- report ------------------------------------------------------------------------------------------------
def database_description(url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} (file, WAL, synchronous=FULL as the app sets)"
    engine = create_engine(url)
    with engine.connect() as conn:
        server = conn.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    return f"PostgreSQL {server} ({parsed.render_as_string(hide_password=True)})"


def print_environment(models_dir: Path, database: str | None, server: str | None = None) -> None:
    print("environment")
    print(
        f"  python       {platform.python_version()} ({platform.python_implementation()}), "
        f"{os.cpu_count()} CPUs, {platform.platform()}"
    )
    print(
        f"  packages     SpiffWorkflow {version('SpiffWorkflow')}, SQLAlchemy {version('SQLAlchemy')}, "
        f"Flask {version('flask')}"
    )
    print(f"  database     {database or 'none (--skip-http)'}")
    print(f"  models       {models_dir}")
    print(f"  server       {server or 'none'}; one client (requests.Session), sequential")
    print(f"  load         {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min) on {os.cpu_count()} CPUs")
    print(f"  routes       {', '.join(r.name for r in ROUTES)} (round robin)")


def print_runs(rows: list[tuple[str, Run]]) -> None:
    print()
    print(
        f"{'':34} {'cases':>5} {'cases/s':>8} {'ms/case':>8} {'tasks':>6} {'task p50':>9} {'task p95':>9} "
        f"{'inbox p95':>9}"
    )
    for label, run in rows:
        inbox = f"{percentile(run.inbox_seconds, 95):9.1f}" if run.inbox_seconds else f"{'-':>9}"
        print(
            f"{label:34} {len(run.case_seconds):5d} {run.cases_per_second:8.2f} {run.mean_case_ms:8.1f} "
            f"{len(run.task_seconds):6d} {percentile(run.task_seconds, 50):9.2f} "
            f"{percentile(run.task_seconds, 95):9.2f} {inbox}"
        )


def print_sizes(rows: list[SizeRow]) -> None:
    print()
    print("(c) task completion through the API by stored instances (ms)")
    print(
        f"  {'stored':>9} {'fill s':>7} {'cases':>5} {'tasks':>6} {'complete p50':>12} {'complete p95':>12} "
        f"{'inbox p50':>9} {'inbox p95':>9}"
    )
    for row in rows:
        run = row.run
        print(
            f"  {row.stored:9d} {row.fill_seconds:7.1f} {len(run.case_seconds):5d} {len(run.task_seconds):6d} "
            f"{percentile(run.task_seconds, 50):12.1f} {percentile(run.task_seconds, 95):12.1f} "
            f"{percentile(run.inbox_seconds, 50):9.1f} {percentile(run.inbox_seconds, 95):9.1f}"
        )


def print_problems(runs: list[tuple[str, Run]]) -> None:
    for label, run in runs:
        for problem in sorted(set(run.wrong)):
            print(f"  ! {label}: {problem}")


# -- main ---------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=30, help="cases for (a) and (b) (default 30)")
    parser.add_argument("--sizes", default="100,100000", help="stored-instance sizes for (c); '' to skip")
    parser.add_argument("--cases-per-size", type=int, default=20, help="cases through the API at each size")
    parser.add_argument("--skip-http", action="store_true", help="only (a): no server, no database")
    parser.add_argument(
        "--database-url",
        help="default: a fresh temporary SQLite file; or "
        f"postgresql+psycopg://postgres@127.0.0.1:5432/{SCRATCH_PG_DB} (emptied first)",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=Path(Config.MODELS_DIR),
        help="folder with processes/ dmn/ forms/ (default: MASH_MODELS_DIR or the repository)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite database and server log")
    parser.add_argument(
        "--server",
        choices=("serve", "run"),
        default="serve",
        help="serve: `mash serve` (gunicorn, 1 worker, keep-alive; default); run: `mash run` (dev server)",
    )
    parser.add_argument(
        "--tree",
        type=Path,
        metavar="DIR",
        help="serve another checkout's app (e.g. the code before a change) instead of this one",
    )
    return parser.parse_args(argv)


@contextmanager
def workspace(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="mash-bench-"))
    try:
        yield path
    finally:
        if keep:
            log(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    models_dir = args.models_dir.resolve()
    runs: list[tuple[str, Run]] = []
    size_rows: list[SizeRow] = []
    database = None
    server_used = None

    log(f"(a) {args.cases} cases in the bare engine")
    engine_run = bench_engine(models_dir, args.cases)
    runs.append(("(a) engine, in memory", engine_run))
    log("(a') same, with state dump/restore around each task")
    runs.append(("(a') engine + state dump/restore", bench_engine(models_dir, args.cases, round_trip=True)))

    if not args.skip_http:
        with workspace(args.keep) as tmp:
            url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
            if url.startswith("postgresql"):
                prepare_postgresql(url)
            database = database_description(url)
            with Server(url, models_dir, tmp, kind=args.server, tree=args.tree) as server:
                server_used = server.description + (f" [app from {args.tree}]" if args.tree else "")
                api = ApiClient(server.base)
                log("(b) warming up the server")
                warm_up(api)
                log(f"(b) {args.cases} cases through the HTTP API")
                runs.append(("(b) HTTP API", bench_api(api, args.cases)))
                if sizes:
                    log(f"(c) sizes {sizes}")
                    size_rows = bench_sizes(api, url, sizes, args.cases_per_size)

    print_environment(models_dir, database, server_used)
    print_runs(runs)
    if len(runs) > 2:
        a, b = runs[0][1], runs[2][1]
        print(
            f"\nb/a per-case time: {b.mean_case_ms / a.mean_case_ms:.1f}x "
            f"(API case = contact POST + per task one inbox GET and one complete POST)"
        )
    if size_rows:
        print_sizes(size_rows)
    print_problems(runs + [(f"(c) {r.stored}", r.run) for r in size_rows])


if __name__ == "__main__":
    main()
