#!/usr/bin/env python3
"""CI: cases reach their outcome on a real deployment — PostgreSQL, `mash serve --workers 2`, one
`mash scheduler` — driven through the HTTP API as the people who would do each step.

One case of every Stage 1 route, then one full Stage 2 case (two agencies asked) with a graceful
worker restart (`kill -HUP` to the gunicorn master) between the Stage 2 request and the partners'
answers: the answers are handled by workers that never saw the case in memory. Every case must
reach its outcome (`GET /api/v1/instances/{id}`: status completed, the expected outcome).

Runs from the repository checkout with the repository's venv:

    .venv/bin/python tools/ci/multiworker_journey.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

It creates a scratch database (mash_ci_multiworker_<pid>) and always drops it, and always stops
the servers it started. Exit status 0 when every case reached its outcome, 1 otherwise.
The form data is the same as tests/api/cases/test_stage1_routes.py and tests/api/partners/test_stage2.py submit.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
MASH = Path(sys.executable).with_name("mash")
DEMO_PASSWORD = "demo-password"
WORKERS = 2
STEP_WAIT_SECONDS = 5  # a task must be ready this soon after the step before it

# -- form data (as tests/support/flow.py, test_stage1_routes.py and test_stage2.py submit it) --------------
RECORD = {
    "appendix_a_q1": "Unexplained bruising seen by the teacher.",
    "consent": "obtained",
    "consent_given_by": "Mother",
    "safety_scale": 5,
    "request_type": "service_request",
    "information_only": False,
    "red_criteria": [],
    "manager_attention_criteria": [],
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


def now() -> str:
    """Times people record (phoned, sent, acknowledged): now, so after the contact was received."""
    return datetime.now(UTC).isoformat(timespec="seconds")


ACK = (
    "business_support",
    "send_acknowledgement",
    lambda _task: {"acknowledged_at": now(), "acknowledgement_method": "phone"},
)
REFERRER_LETTER = (
    "business_support",
    "send_referrer_letter",
    lambda _task: {"sent_at": now(), "letter_method": "email"},
)
FAMILY_LETTER = (
    "business_support",
    "send_family_letter",
    lambda _task: {"family_letter_sent_at": now(), "family_letter_method": "post"},
)
PHONE_REFERRER = (
    "decision_maker",
    "phone_referrer",
    lambda _task: {
        "phoned_at": now(),
        "spoke_to": "Ann Teacher",
        "family_phoned_at": now(),
        "family_spoke_to": "Mother",
    },
)
LETTERS = (ACK, REFERRER_LETTER, FAMILY_LETTER)
OPEN_CHILD = ("Morgan", "Openindex", "2015-02-03")  # in the case index as open to DAAT (allocated_worker route)


def _answer(text: str) -> dict:
    return {
        "agency_response": {
            "information": [{"text": text, "verified": True}],
            "analysis": f"{text}: so what for the child",
            "recommendation": "Early help",
        }
    }


def _confirm_first_match(task: dict) -> dict:
    matches = task["data"].get("index_matches") or []
    return {
        "confirmed_matches": [matches[0]["match_id"]] if matches else [],
        "case_system_checks": [],
        "synopsis": "Open to DAAT.",
    }


Data = dict | Callable[[dict], dict]
Step = tuple[str, str, Data]  # (demo username, task bpmn id, form data or a function of the task)


def intake(**record: Any) -> tuple[Step, ...]:
    return (("masho", "record_contact", {**RECORD, **record}), ("masho", "history_check", HISTORY))


def social_care(threshold: str, rag: str, **agree: Any) -> tuple[Step, ...]:
    return (
        ("mash_manager", "allocate", {"allocate_to": "decision_maker"}),
        ("decision_maker", "triage_social_care", {**TRIAGE, "threshold": threshold}),
        ("mash_manager", "sign_off_social_care", {**AGREE, "agreed_rag": rag, **agree}),
    )


def stage2_request(agencies: list[str]) -> Step:
    return (
        "decision_maker",
        "stage2_request",
        {
            "agencies": agencies,
            "request_details": "Unexplained bruising: what is known?",
            "agency_reasons": [{"agency": a, "reason": f"{a} may hold information on the household"} for a in agencies],
        },
    )


STAGE2_AFTER_ANSWERS: tuple[Step, ...] = (
    (
        "decision_maker",
        "stage2_collation",
        {
            "revised_rag": "GREEN",
            "rag_reason": "Partners report support in place",
            "recommended_outcome": "early_help",
            "rationale": "Needs met by EH",
        },
    ),
    ("mash_manager", "stage2_review", {"manager_decision": "agree"}),
    ("early_help_worker", "handover", {"handover_accepted": True}),
    *LETTERS,
)


@dataclass
class Journey:
    name: str
    steps: tuple[Step, ...]
    outcome: str
    contact: dict = field(default_factory=dict)
    restart_after: str | None = None  # HUP the workers after this step
    instance_id: int | None = None
    problem: str | None = None
    status: str | None = None
    reached: str | None = None
    seconds: float = 0.0


def journeys() -> list[Journey]:
    return [
        Journey(
            "information given",
            (
                *intake(request_type="advice", information_only=True),
                ("masho", "give_information", {"information_given_detail": "Signposted to the local family hub."}),
                ACK,
            ),
            "information_given",
        ),
        Journey(
            "s17 assessment (GREEN)",
            intake()
            + social_care("s17", "GREEN")
            + (("first_response_worker", "handover", {"handover_accepted": True}),)
            + LETTERS,
            "s17_assessment",
        ),
        Journey(
            "s47 strategy (RED)",
            (
                *intake(red_criteria=["other"], red_criteria_other="Scared to go home"),
                ("mash_manager", "confirm_red", {"red_confirmed": True}),
                *social_care("s47", "RED"),
                ("daat_worker", "handover", {"handover_accepted": True}),
                PHONE_REFERRER,
                ACK,
            ),
            "s47_strategy",
        ),
        Journey(
            "early help",
            (
                *intake(),
                ("mash_manager", "allocate", {"allocate_to": "eh_decision_maker"}),
                ("eh_decision_maker", "triage_early_help", {**TRIAGE, "threshold": "early_help"}),
                ("eh_manager", "sign_off_early_help", {**AGREE, "agreed_rag": "GREEN"}),
                ("early_help_worker", "handover", {"handover_accepted": True}),
                *LETTERS,
            ),
            "early_help",
        ),
        Journey(
            "no further action",
            intake()
            + social_care(
                "not_met",
                "NONE",
                family_notification="withhold",
                family_notification_reason="Would increase risk to the parent",
            )
            + (ACK, REFERRER_LETTER),
            "nfa",
        ),
        Journey(
            "information request",
            (
                *intake(request_type="information_request"),
                (
                    "decision_maker",
                    "draft_information_response",
                    {
                        "response_draft": "Known to services 2024.",
                        "disclosure_to": "Other LA",
                        "disclosure_purpose": "Safeguarding enquiry",
                        "lawful_basis": "public_task",
                        "concerns_arise": False,
                    },
                ),
                ("mash_manager", "sign_off_disclosure", {"disclosure_approved": True}),
                ACK,
            ),
            "information_request_answered",
            {"channel": "information_request"},
        ),
        Journey(
            "domestic abuse screening",
            (
                *intake(request_type="domestic_abuse"),
                (
                    "da_screener",
                    "domestic_abuse_screening",
                    {"screening_outcome": "safety_plan_agreed", "screening_notes": "Safety plan agreed with mother"},
                ),
                ACK,
            ),
            "passed_to_domestic_abuse_screening",
            {"channel": "domestic_abuse_notification"},
        ),
        Journey(
            "open to social care: allocated worker",
            (
                ("masho", "record_contact", RECORD),
                ("masho", "history_check", _confirm_first_match),
                ("daat_worker", "allocated_worker_notified", {"acknowledged": True}),
                ACK,
            ),
            "passed_to_allocated_worker",
            {
                "child": {
                    "first_name": OPEN_CHILD[0],
                    "last_name": OPEN_CHILD[1],
                    "date_of_birth": OPEN_CHILD[2],
                    "gender": "female",
                    "address": "2 Low Road",
                }
            },
        ),
        Journey(
            "unclear: Stage 2, one agency",
            intake()
            + social_care("unclear", "AMBER")
            + (
                stage2_request(["police"]),
                ("police_partner", "partner_answer", _answer("No police involvement")),
            )
            + STAGE2_AFTER_ANSWERS,
            "early_help",
        ),
        Journey(
            "Stage 2, two agencies, workers restarted before the answers",
            intake()
            + social_care("unclear", "AMBER")
            + (
                stage2_request(["police", "health"]),
                ("police_partner", "partner_answer", _answer("Two domestic call-outs this year")),
                ("health_partner", "partner_answer", _answer("Missed health appointments")),
            )
            + STAGE2_AFTER_ANSWERS,
            "early_help",
            restart_after="stage2_request",
        ),
    ]


# -- processes -------------------------------------------------------------------------------------
def log(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Scratch:
    """A PostgreSQL database made for this run and always dropped."""

    def __init__(self, admin_url: str):
        from sqlalchemy.engine import make_url

        url = make_url(admin_url)
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        self.admin_url = url.set(database="postgres")
        self.name = f"mash_ci_multiworker_{os.getpid()}"
        self.url = url.set(database=self.name).render_as_string(hide_password=False)

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def create(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Deployment:
    """`mash serve --workers 2` and one `mash scheduler` on the scratch database."""

    def __init__(self, database_url: str, workdir: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MASH_", "FLASK_"))}
        self.env = {
            **env,
            "MASH_CONFIG": "development",
            "MASH_DATABASE_URL": database_url,
            "MASH_MODELS_DIR": str(ROOT),
        }
        self.workdir = workdir
        self.server: subprocess.Popen | None = None
        self.scheduler: subprocess.Popen | None = None
        self.logs: list = []

    def mash(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [str(MASH), *args], env=self.env, capture_output=True, text=True, input=stdin, timeout=180
        )
        if result.returncode:
            raise SystemExit(f"mash {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        return result.stdout.strip()

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        out = open(self.workdir / f"{name}.log", "w")  # noqa: SIM115 - closed in stop(), with the process
        self.logs.append(out)
        return subprocess.Popen([str(MASH), *args], env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def start(self) -> None:
        self.server = self._spawn(
            "serve", "serve", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{self.port}", "--timeout", "60"
        )
        self.scheduler = self._spawn("scheduler", "scheduler", "--interval", "5")
        self.wait_until_answering()
        log(
            f"  mash serve on {self.base}: master {self.server.pid}, workers {sorted(self.workers())}; "
            f"mash scheduler {self.scheduler.pid}"
        )

    def wait_until_answering(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise SystemExit(f"mash serve exited ({self.server.returncode}); see {self.workdir / 'serve.log'}")
            try:
                if requests.get(self.base + "/", timeout=5).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"mash serve did not answer within {seconds} s")

    def workers(self) -> set[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.server.pid)], capture_output=True, text=True)
        return {int(pid) for pid in out.stdout.split()}

    def restart_workers(self) -> None:
        """kill -HUP the master; wait until only new workers are left and they answer."""
        before = self.workers()
        os.kill(self.server.pid, signal.SIGHUP)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = self.workers()
            if len(now) == WORKERS and not now & before:
                break
            time.sleep(0.2)
        else:
            raise SystemExit(f"the workers were not replaced after HUP (before {sorted(before)}, now {sorted(now)})")
        self.wait_until_answering()
        log(f"  HUP: workers {sorted(before)} replaced by {sorted(now)}")

    def stop(self) -> None:
        for process in (self.scheduler, self.server):
            if process is not None and process.poll() is None:
                process.terminate()
        for process in (self.scheduler, self.server):
            if process is None:
                continue
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for out in self.logs:
            out.close()


# -- the API client -------------------------------------------------------------------------------
class Api:
    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()
        self.tokens: dict[str, str] = {}
        self.include_form = True  # `?include=form` (form inline); older servers put it inline anyway

    def call(self, method: str, username: str, path: str, body: dict | None = None) -> requests.Response:
        if username not in self.tokens:
            response = self.session.post(
                self.base + "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}, timeout=30
            )
            if response.status_code != 200:
                raise SystemExit(f"cannot sign in as {username}: {response.status_code}")
            self.tokens[username] = response.json()["access_token"]
        url = path if path.startswith("http") else self.base + path
        return self.session.request(
            method, url, json=body, timeout=30, headers={"Authorization": f"Bearer {self.tokens[username]}"}
        )

    def tasks(self, username: str, instance_id: int) -> list[dict]:
        """Every ready task of the case the user may work on, following Link rel=next pages."""
        query = f"/api/v1/tasks?instance_id={instance_id}" + ("&include=form" if self.include_form else "")
        response = self.call("GET", username, query)
        if response.status_code == 422 and self.include_form:  # a server without the include parameter
            self.include_form = False
            return self.tasks(username, instance_id)
        items: list[dict] = []
        while True:
            if response.status_code != 200:
                raise Problem(f"GET tasks as {username} -> {response.status_code}")
            body = response.json()
            items.extend(body["items"] if isinstance(body, dict) else body)
            following = response.links.get("next", {}).get("url")
            if not following:
                return items
            response = self.call("GET", username, following)

    def form_schema(self, username: str, task: dict) -> dict:
        form = task.get("form") or {}
        if "schema" not in form and form.get("href"):  # the form by reference
            response = self.call("GET", username, form["href"])
            if response.status_code != 200:
                raise Problem(f"GET form of {task['bpmn_id']} as {username} -> {response.status_code}")
            form = response.json()
        return form.get("schema") or {}

    def instance(self, instance_id: int) -> dict:
        response = self.call("GET", "auditor", f"/api/v1/instances/{instance_id}")
        if response.status_code != 200:
            raise Problem(f"GET instance -> {response.status_code}")
        return response.json()


class Problem(Exception):
    pass


def contact_body(journey: Journey, n: int) -> dict:
    body = {
        "received_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "channel": "phone",
        "referrer": {
            "name": "Ann Teacher",
            "agency": "education",
            "role": "DSL",
            "phone": "01604 000000",
            "relationship": "teacher",
            "anonymous": False,
        },
        # a different child per case, so one case's referral never makes another's child "open"
        "child": {
            "first_name": f"Journey{chr(65 + n)}",
            "last_name": f"Worker{n}x",
            "gender": "male",
            "address": f"{n + 10} High Street",
            "date_of_birth": f"{2009 + n}-{1 + n % 12:02d}-{1 + n:02d}",
        },
        "summary": "Bruise on the arm, unexplained.",
    }
    body.update(journey.contact)
    return body


def waiting_on(api: Api, instance_id: int) -> str:
    try:
        case = api.instance(instance_id)
    except Problem as err:
        return str(err)
    ready = [t.get("bpmn_id") for t in case.get("ready_tasks") or []]
    return f"status={case.get('status')}, ready tasks {ready}"


def explain(response: requests.Response) -> str:
    """Status, error code, message and per-field errors (the journey's data is synthetic)."""
    try:
        payload = response.json()
    except ValueError:
        return str(response.status_code)
    errors = (payload.get("details") or {}).get("errors") or {}
    return f"{response.status_code} {payload.get('error')}: {payload.get('message')} {errors}"[:500]


def declared_fields(schema: dict) -> set[str]:
    """Every field a form declares, conditional branches included (as app/services/core/forms.py counts them)."""
    fields = set((schema.get("properties") or {}).keys())
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            fields |= declared_fields(sub)
    for key in ("then", "else"):
        if isinstance(schema.get(key), dict):
            fields |= declared_fields(schema[key])
    return fields


def run_step(api: Api, journey: Journey, username: str, bpmn_id: str, data: Data) -> None:
    deadline = time.monotonic() + STEP_WAIT_SECONDS
    while True:
        mine = [t for t in api.tasks(username, journey.instance_id) if t["bpmn_id"] == bpmn_id]
        if mine:
            break
        if time.monotonic() > deadline:
            raise Problem(
                f"{username} has no ready {bpmn_id} after {STEP_WAIT_SECONDS} s; {waiting_on(api, journey.instance_id)}"
            )
        time.sleep(0.5)
    task = mine[0]
    values = data(task) if callable(data) else data
    schema = api.form_schema(username, task)
    fields = (schema.get("properties") or {}).keys()
    body = {**{k: task["data"][k] for k in fields if task["data"].get(k) is not None}, **values}  # the whole form
    declared = declared_fields(schema)
    if declared:  # only what this version of the form asks (forms evolve; a missing answer still gives 422)
        body = {k: v for k, v in body.items() if k in declared}
    response = api.call("POST", username, f"/api/v1/tasks/{task['id']}/complete", {"data": body})
    if response.status_code != 200:
        raise Problem(f"{bpmn_id} as {username} -> {explain(response)}")


def drive(api: Api, deployment: Deployment, journey: Journey, n: int) -> None:
    began = time.monotonic()
    try:
        response = api.call("POST", "masho", "/api/v1/contacts", contact_body(journey, n))
        if response.status_code != 201:
            raise Problem(f"contact -> {explain(response)}")
        journey.instance_id = response.json()["instance_id"]
        for username, bpmn_id, data in journey.steps:
            run_step(api, journey, username, bpmn_id, data)
            if journey.restart_after == bpmn_id:
                deployment.restart_workers()
        deadline = time.monotonic() + STEP_WAIT_SECONDS
        while True:
            case = api.instance(journey.instance_id)
            journey.status, journey.reached = case.get("status"), case.get("outcome")
            if journey.status == "completed" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if (journey.status, journey.reached) != ("completed", journey.outcome):
            journey.problem = f"ended {journey.status}/{journey.reached}; {waiting_on(api, journey.instance_id)}"
    except Problem as err:
        journey.problem = str(err)
    except requests.RequestException as err:
        journey.problem = f"HTTP failure: {type(err).__name__}"
    if journey.problem and journey.instance_id and journey.status is None:
        try:
            case = api.instance(journey.instance_id)
            journey.status, journey.reached = case.get("status"), case.get("outcome")
        except (Problem, requests.RequestException):
            pass
    journey.seconds = time.monotonic() - began


def summary(cases: list[Journey]) -> bool:
    log("\nmulti-worker journey (PostgreSQL, mash serve --workers 2, mash scheduler):")
    width = max(len(j.name) for j in cases)
    for j in cases:
        verdict = "ok  " if j.problem is None else "FAIL"
        log(
            f"  {verdict} {j.name:<{width}}  instance {j.instance_id!s:>3}  {j.status or '-'}/{j.reached or '-'}"
            f"  (expected {j.outcome}, {j.seconds:.1f} s)" + (f"\n         {j.problem}" if j.problem else "")
        )
    failed = [j for j in cases if j.problem]
    log(f"{len(cases) - len(failed)} of {len(cases)} cases reached their outcome")
    return not failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = os.environ.get("MASH_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--database-url",
        default=default,
        help="a PostgreSQL URL whose server may create databases (the database part is ignored)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the server and scheduler logs")
    args = parser.parse_args(argv)

    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="mash-multiworker-"))
    scratch = Scratch(args.database_url)
    deployment = Deployment(scratch.url, workdir)
    cases = journeys()
    ok = False
    try:
        log(f"== multi-worker journey: database {scratch.name}")
        scratch.create()
        deployment.mash("db", "upgrade")
        log("  mash db upgrade: done")
        log("  " + deployment.mash("demo").replace("\n", "; "))
        index = workdir / "open_children.csv"
        index.write_text(
            "external_ref,first_name,last_name,date_of_birth,social_care_status,allocated_worker,"
            f"allocated_team\nCI1,{OPEN_CHILD[0]},{OPEN_CHILD[1]},{OPEN_CHILD[2]},open,Sam Worker,daat\n"
        )
        log("  " + deployment.mash("index", "import", str(index)))
        deployment.start()
        api = Api(deployment.base)
        for n, journey in enumerate(cases):
            drive(api, deployment, journey, n)
            log(f"  {journey.name}: {'ok' if journey.problem is None else 'FAIL'} ({journey.seconds:.1f} s)")
        if deployment.scheduler.poll() is not None:
            log(f"  the scheduler exited ({deployment.scheduler.returncode}); see {workdir / 'scheduler.log'}")
        ok = summary(cases)
        if deployment.scheduler.poll() is not None:
            ok = False
    finally:
        deployment.stop()
        try:
            scratch.drop()
        except Exception as err:  # never hide the journey's own result behind a cleanup failure
            log(f"  could not drop {scratch.name}: {type(err).__name__}")
        if not ok:
            for name in ("serve", "scheduler"):
                path = workdir / f"{name}.log"
                if path.exists():
                    lines = path.read_text(errors="replace").splitlines()
                    log(f"-- last lines of {name}.log --\n" + "\n".join(lines[-25:]))
        if args.keep_logs or not ok:
            log(f"  logs kept in {workdir}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    log(f"== multi-worker journey {'passed' if ok else 'FAILED'} in {time.monotonic() - began:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
