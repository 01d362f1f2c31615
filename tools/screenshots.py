"""Full-page screenshots of the main pages, for docs and for eyeballing the layout.

Starts the app like bench/stage1.py does (a temporary SQLite database, `mash db upgrade`, `mash demo`,
`mash run` on a free port), creates a few cases through the API, then drives Debian's Chromium
with Playwright at 1280 px wide and writes docs/screenshots/*.png:

    .venv/bin/python tools/screenshots.py [--out docs/screenshots] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MASH = ROOT / ".venv" / "bin" / "mash"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_PASSWORD = "demo-password"
WIDTH = 1280

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


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, workdir: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "MASH_CONFIG": "development",
            "MASH_DATABASE_URL": f"sqlite:///{workdir}/mash.db",
            "MASH_MODELS_DIR": str(ROOT),
            "FLASK_DEBUG": "0",
        }
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen | None = None

    def mash(self, *args: str) -> None:
        result = subprocess.run([str(MASH), *args], env=self.env, capture_output=True, text=True, cwd=ROOT)
        if result.returncode:
            raise SystemExit(f"mash {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        log(f"mash {' '.join(args)}: {result.stdout.strip()}")

    def __enter__(self) -> Server:
        self.mash("db", "upgrade")
        self.mash("demo")
        self.log_file = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(MASH), "run", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited early; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base + "/", timeout=2) as response:
                    if response.status == 200:
                        log(f"server up on {self.base} (pid {self.process.pid})")
                        return self
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise SystemExit(f"server did not answer within 60 s; see {self.log_path}")

    def __exit__(self, *_exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log_file.close()


class Api:
    def __init__(self, base: str):
        self.base = base
        self.tokens: dict[str, str] = {}

    def call(self, method: str, username: str | None, path: str, body: dict | None = None):
        headers = {"Content-Type": "application/json"}
        if username:
            if username not in self.tokens:
                self.tokens[username] = self.call(
                    "POST", None, "/api/v1/auth/token", {"username": username, "password": DEMO_PASSWORD}
                )["access_token"]
            headers["Authorization"] = f"Bearer {self.tokens[username]}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            raise SystemExit(f"{method} {path} as {username}: {err.code} {err.read().decode()[:500]}") from None

    def contact(self, first: str, last: str, summary: str, channel: str = "phone") -> int:
        body = {
            "received_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 1800)),
            "channel": channel,
            "referrer": {
                "name": "Ann Teacher",
                "agency": "education",
                "role": "DSL",
                "phone": "01604 000000",
                "relationship": "teacher",
                "anonymous": False,
            },
            "child": {
                "first_name": first,
                "last_name": last,
                "date_of_birth": "2016-04-01",
                "gender": "male",
                "address": "1 High Street",
            },
            "summary": summary,
        }
        return self.call("POST", "masho", "/api/v1/contacts", body)["instance_id"]

    def task(self, username: str, instance_id: int, bpmn_id: str) -> dict:
        tasks = [
            t
            for t in self.call("GET", username, f"/api/v1/tasks?instance_id={instance_id}&include=form")
            if t["bpmn_id"] == bpmn_id
        ]
        if not tasks:
            raise SystemExit(f"{username} has no {bpmn_id} on case {instance_id}")
        return tasks[0]

    def do(self, username: str, instance_id: int, bpmn_id: str, data: dict) -> None:
        task = self.task(username, instance_id, bpmn_id)
        fields = (task["form"]["schema"].get("properties") or {}).keys()  # the whole form, prefilled
        body = {**{k: task["data"][k] for k in fields if task["data"].get(k) is not None}, **data}
        self.call("POST", username, f"/api/v1/tasks/{task['id']}/complete", {"data": body})


def shoot(page, out: Path, name: str) -> None:
    page.wait_for_load_state("load")
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    log(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({page.url})")


def sign_in(browser, base: str, username: str):
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    page.goto(base + "/sign-in")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and server log")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="mash-screens-"))
    try:
        with Server(workdir) as server, sync_playwright() as playwright:
            api = Api(server.base)
            fresh = api.contact("Alex", "Brown", "Neighbour heard shouting and a child crying late at night.")
            red = api.contact("Jamie", "Doe", "Child told the teacher they are scared to go home.")
            api.do(
                "masho",
                red,
                "record_contact",
                {**RECORD, "red_criteria": ["other"], "red_criteria_other": "Child says they are scared to go home"},
            )
            api.do("masho", red, "history_check", HISTORY)
            api.do("mash_manager", red, "confirm_red", {"red_confirmed": True})
            api.do("mash_manager", red, "allocate", {"allocate_to": "decision_maker"})
            green = api.contact(
                "Sam", "Smith", "Attendance has dropped; mother struggling since a bereavement.", channel="email"
            )
            api.do("masho", green, "record_contact", RECORD)
            api.do("masho", green, "history_check", HISTORY)

            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            anonymous = browser.new_context(viewport={"width": WIDTH, "height": 900}).new_page()
            anonymous.goto(server.base + "/")
            shoot(anonymous, out, "start")
            anonymous.goto(server.base + "/sign-in")
            shoot(anonymous, out, "sign-in")
            anonymous.goto(server.base + "/refer")
            shoot(anonymous, out, "refer")

            masho = sign_in(browser, server.base, "masho")
            shoot(masho, out, "inbox")
            masho.goto(server.base + f"/tasks/{api.task('masho', fresh, 'record_contact')['id']}")
            masho.get_by_label("Summary of the contact").fill("")
            with masho.expect_navigation():
                masho.get_by_role("button", name="Save and continue", exact=True).click()
            shoot(masho, out, "record-contact-errors")
            masho.goto(server.base + "/contacts/new")
            shoot(masho, out, "record-a-contact")
            masho.goto(server.base + "/audit?name=Jamie+Do")
            shoot(masho, out, "find-a-case")

            dm = sign_in(browser, server.base, "decision_maker")
            dm.goto(server.base + f"/tasks/{api.task('decision_maker', red, 'triage_social_care')['id']}")
            dm.get_by_label("Analysis", exact=True).fill("Disclosure and fear of going home: significant harm.")
            dm.get_by_role("group", name="Threshold").get_by_label("Section 47: significant harm").check()
            for legend in (
                "May become significant harm without action",
                "Meets the disability eligibility criteria",
                "Transfer to social care",
            ):
                dm.get_by_role("group", name=legend).get_by_label("No", exact=True).check()
            with dm.expect_navigation():
                dm.get_by_role("button", name="Check the proposed outcome", exact=True).click()
            shoot(dm, out, "triage-proposal")
            dm.goto(server.base + f"/cases/{red}")
            shoot(dm, out, "case")

            manager = sign_in(browser, server.base, "mash_manager")
            shoot(manager, out, "inbox-manager")
            browser.close()
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
