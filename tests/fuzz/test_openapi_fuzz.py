"""A bounded schemathesis run against the app's own OpenAPI document (issue 13).

Every operation of /api/v1/openapi.json is called with generated requests (valid and invalid:
schemathesis's positive and negative modes) as a signed-in demo user, with a fixed seed
(hypothesis `derandomize`), and each response is checked: no 5xx (`not_a_server_error`) and the
body matches what the document says for that status, including the error body
(`response_schema_conformance`). Examples per operation: MASH_FUZZ_EXAMPLES valid ones (default 200)
plus half as many invalid ones; the model-deploy and validation operations, which check the whole
model set per request, get a fifth of that. About two minutes on two cores.

Run by tools/ci/schemathesis.sh (from .ci/run); skipped in the ordinary test run.
"""

from __future__ import annotations

import os
import re
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.cli import DEMO_PASSWORD, DEMO_USERS
from app.services.people import users

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("MASH_FUZZ_EXAMPLES", "200"))
CHECKS = [not_a_server_error, response_schema_conformance]
# Operations whose every request validates the whole model set: fewer examples keep the run bounded.
HEAVY = "^/api/v1/deployments(/validate)?$"
# Signing out would revoke the token the run uses; it has no body or parameters to fuzz.
SKIPPED = "^/api/v1/auth/logout$"
# Who calls what: the demo user whose role the operation is for (others get a quick 403).
CALLERS = (
    ("/api/v1/deployments", "service_manager"),
    ("/api/v1/break-glass", "service_manager"),
    ("/timeline", "auditor"),
    ("/export", "auditor"),
)
SEED_CONTACT = {
    "received_at": "2026-11-24T09:30:00+00:00",
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
        "first_name": "Jamie",
        "last_name": "Doe",
        "date_of_birth": "2016-04-01",
        "gender": "male",
        "address": "1 High Street",
    },
    "summary": "Bruise on the arm, unexplained.",
}


@pytest.fixture
def tokens(ctx):
    """Demo users (as `mash demo` makes them), a token each, and one case so that id 1 exists."""
    client = ctx.test_client()
    result = {}
    for name in ("masho", "service_manager", "auditor"):
        roles, agency, team = DEMO_USERS[name]
        users.create_user(name, DEMO_PASSWORD, roles, agency=agency, team=team)
        response = client.post("/api/v1/auth/token", json={"username": name, "password": DEMO_PASSWORD})
        assert response.status_code == 200, response.json
        result[name] = response.json["access_token"]
    created = client.post("/api/v1/contacts", json=SEED_CONTACT, headers={"Authorization": f"Bearer {result['masho']}"})
    assert created.status_code == 201, created.json
    return result


def _caller(path: str) -> str:
    return next((user for part, user in CALLERS if part in path), "masho")


def _fuzz(operation, mode: GenerationMode, examples: int, token: str) -> tuple[int, list[str]]:
    """Run `examples` generated requests of one mode; the number run and any failures (text)."""
    ran = 0
    failures: list[str] = []

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        nonlocal ran
        ran += 1
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # nothing invalid to generate (no parameters, no body)
        pass
    except (Exception, BaseExceptionGroup) as err:  # a failed check (FailureGroup) or an error calling the app
        failures.append(
            f"{operation.method.upper()} {operation.path} ({mode.value}): {type(err).__name__}: {str(err)[:2000]}"
        )
    return ran, failures


def test_no_server_errors_and_documented_bodies(ctx, tokens):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", ctx)
    started = time.monotonic()
    figures: list[tuple[str, int]] = []
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if re.match(SKIPPED, operation.path):
            continue
        examples = max(10, EXAMPLES // 5) if re.match(HEAVY, operation.path) else EXAMPLES
        token = tokens[_caller(operation.path)]
        total = 0
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            ran, failed = _fuzz(operation, mode, examples // 2 if mode is GenerationMode.NEGATIVE else examples, token)
            total += ran
            failures.extend(failed)
        figures.append((label, total))
    elapsed = time.monotonic() - started
    print(
        f"\nschemathesis {schemathesis.__version__ if hasattr(schemathesis, '__version__') else ''}: "
        f"{len(figures)} operations, {sum(n for _, n in figures)} requests, {len(failures)} failures, "
        f"{elapsed:.0f} s (seed: derandomized; checks: not_a_server_error, response_schema_conformance)"
    )
    for label, n in figures:
        print(f"  {n:5d}  {label}")
    assert not failures, "\n\n".join(failures)
