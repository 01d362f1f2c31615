"""Helpers for tests: users per role, tokens, JSON calls."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.config import ROOT
from app.services.people import users


def models_dir() -> Path:
    """The model set under test: the repository's own unless MASH_MODELS_DIR says otherwise."""
    return Path(os.environ.get("MASH_MODELS_DIR", ROOT))


PASSWORD = "correct-horse-battery"
# username: (roles, agency, team)
PEOPLE = {
    "masho": (["masho"], None, None),
    "dm": (["decision_maker"], None, None),
    "dm2": (["decision_maker"], None, None),
    "ehdm": (["eh_decision_maker"], None, None),
    "mgr": (["mash_manager"], None, None),
    "mgr2": (["mash_manager"], None, None),
    "mgr_dm": (["mash_manager", "decision_maker"], None, None),
    "ehmgr": (["eh_manager"], None, None),
    "bs": (["business_support"], None, None),
    "daat": (["receiving_team"], None, "daat"),
    "daat_mgr": (["receiving_team_manager"], None, "daat"),
    "fr": (["receiving_team"], None, "first_response"),
    "dcs": (["receiving_team"], None, "disabled_children"),
    "eh_team": (["receiving_team"], None, "early_help"),
    "da": (["receiving_team"], None, "domestic_abuse_screening"),
    "police": (["partner"], "police", None),
    "auditor": (["auditor"], None, None),
    "admin": (["admin"], None, None),
}


def make_people(names=None) -> None:
    for name in names or PEOPLE:
        roles, agency, team = PEOPLE[name]
        if users.get_by_username(name) is None:
            users.create_user(name, PASSWORD, roles, agency=agency, team=team)


class Api:
    """A signed-in API client per username."""

    def __init__(self, client):
        self.client = client
        self.tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self.tokens:
            response = self.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
            assert response.status_code == 200, response.json
            self.tokens[username] = response.json["access_token"]
        return self.tokens[username]

    def call(self, method: str, username: str | None, url: str, json=None):
        headers = {"Authorization": f"Bearer {self.token(username)}"} if username else {}
        return self.client.open(url, method=method, json=json, headers=headers)

    def get(self, username, url):
        return self.call("GET", username, url)

    def post(self, username, url, json=None):
        return self.call("POST", username, url, json)


def deploy_with(process_file: str, bpmn: str, forms: dict | None = None):
    """Deploy the real models plus one test process and its forms ({name: JSON Schema}; empty UI schemas)."""
    import json

    from app.services.modelling import deployments

    files = deployments.read_model_dir(models_dir())
    files[f"processes/{process_file}"] = bpmn.encode()
    for name, schema in (forms or {}).items():
        files[f"forms/{name}.schema.json"] = json.dumps(schema).encode()
        files[f"forms/{name}.uischema.json"] = b"{}"
    deployment, _ = deployments.deploy(files, actor_name="tests")
    return deployment


def start_processes(deployment, process_id: str, seed: dict, count: int = 1) -> list[int]:
    """Start instances of a deployed process directly (no contact), as the host would."""
    from app.services.cases import runs
    from app.services.core.transaction import unit_of_work

    with unit_of_work():
        return [runs.start_instance_in_transaction(deployment, process_id, dict(seed), None).id for _ in range(count)]


T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def seed_tasks(instance_ids: list[int], count: int, **fields) -> list[str]:
    """Ready masho tasks written straight to the inbox projection, spread over the cases, with ties and
    missing due times (the hard cases for keyset paging); `fields` overrides any column."""
    from app.extensions import db
    from app.models import TaskRecord
    from app.services.core.transaction import unit_of_work

    ids = []
    with unit_of_work():
        for n in range(count):
            task = TaskRecord(
                id=str(uuid.uuid4()),
                instance_id=instance_ids[n % len(instance_ids)],
                bpmn_id="record_contact",
                title="Record the contact",
                role="masho",
                state="ready",
                due_at=None if n % 7 == 0 else T0 + timedelta(hours=n % 13),
                created_at=T0 + timedelta(minutes=n % 5),
                form="record_contact.schema.json",
            )
            for key, value in fields.items():
                setattr(task, key, value)
            db.session.add(task)
            ids.append(task.id)
    return ids
