"""Fill a MASH database with many realistic stored instances, fast, for the size benchmark.

Why bulk SQL and not the API: 100 000 cases through the API would take hours; what the size
benchmark needs is the *rows* a real deployment accumulates (contacts, engine state, inbox
projection, history, case index), so every query the API runs meets realistic table sizes.
The engine state and task/history shapes are copied from one genuine instance created through
the API (the template), so the rows are what the app itself writes.

Each batch of ~5 000 instances is one transaction of SQLAlchemy Core executemany inserts.
Primary keys are assigned here (so foreign keys need no round trip); on PostgreSQL the id
sequences are moved past them afterwards, or the app's next insert would collide.
"""

from __future__ import annotations

import copy
import hashlib
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, func, insert, select, text

from app.models import Contact, HistoryEvent, IndexChild, IndexContact, ProcessInstance, TaskRecord
from app.services.cases.case_index import fold, surname_codes

BATCH = 5_000
FIRST_NAMES = (
    "Jamie",
    "Alex",
    "Sam",
    "Charlie",
    "Riley",
    "Morgan",
    "Taylor",
    "Jordan",
    "Casey",
    "Avery",
    "Olivia",
    "Noah",
    "Amelia",
    "Muhammad",
    "Isla",
    "Leo",
    "Ava",
    "Oliver",
    "Freya",
    "Arthur",
)
LAST_NAMES = (
    "Doe",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Khan",
    "Kowalski",
    "Nowak",
    "O'Brien",
    "McDonald",
    "Ahmed",
    "Begum",
    "Hughes",
    "Edwards",
    "Lewis",
    "Clarke",
)
SURNAME_CODES = {name: surname_codes(name) for name in LAST_NAMES}  # Double Metaphone once per name, not per row
COMPLETED_TASKS = (
    ("history_check", "Check history", "masho", "history_check.schema.json"),
    ("send_acknowledgement", "Acknowledge the referrer", "business_support", "send_acknowledgement.schema.json"),
)

CONTACTS: Table = Contact.__table__
INSTANCES: Table = ProcessInstance.__table__
TASKS: Table = TaskRecord.__table__
HISTORY: Table = HistoryEvent.__table__
INDEX_CHILDREN: Table = IndexChild.__table__
INDEX_CONTACTS: Table = IndexContact.__table__
TABLES = (CONTACTS, INSTANCES, TASKS, HISTORY, INDEX_CHILDREN, INDEX_CONTACTS)


@dataclass
class Template:
    """One genuine instance at its record_contact step, as the app stored it."""

    contact: dict[str, Any]
    instance: dict[str, Any]
    task: dict[str, Any]
    events: list[dict[str, Any]]


def bulk_engine(url: str) -> Engine:
    """An engine for bulk loading; on SQLite, WAL like the app but without a fsync per commit."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

    return engine


def read_template(engine: Engine, instance_id: int) -> Template:
    """Copy the rows the app wrote for a real instance (created through the API) as the filler's pattern."""
    with engine.connect() as conn:
        instance = dict(conn.execute(select(INSTANCES).where(INSTANCES.c.id == instance_id)).mappings().one())
        contact = dict(conn.execute(select(CONTACTS).where(CONTACTS.c.id == instance["contact_id"])).mappings().one())
        task = dict(
            conn.execute(select(TASKS).where(TASKS.c.instance_id == instance_id, TASKS.c.state == "ready"))
            .mappings()
            .first()
        )
        events = [
            dict(r)
            for r in conn.execute(
                select(HISTORY).where(HISTORY.c.instance_id == instance_id).order_by(HISTORY.c.id)
            ).mappings()
        ]
    return Template(contact=contact, instance=instance, task=task, events=events)


def count_instances(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(INSTANCES)).scalar_one()


def _next_ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: (conn.execute(select(func.max(t.c.id))).scalar() or 0) + 1 for t in TABLES if t is not TASKS}


def _hex64(seed: int) -> str:
    """Any 64-hex string will do for filler hash-chain fields; derived, so the chain links up."""
    return hashlib.sha256(seed.to_bytes(8, "little")).hexdigest()


def _child(rng: random.Random) -> dict[str, Any]:
    born = date(2008, 1, 1) + timedelta(days=rng.randrange(18 * 365))
    return {
        "first_name": rng.choice(FIRST_NAMES),
        "last_name": rng.choice(LAST_NAMES),
        "date_of_birth": born.isoformat(),
        "gender": rng.choice(("male", "female", "unknown")),
        "address": f"{rng.randrange(1, 200)} High Street",
    }


class _Ids:
    """Monotonic primary keys per table, starting after what is already stored."""

    def __init__(self, start: dict[str, int]):
        self.next = dict(start)

    def take(self, table: Table) -> int:
        value = self.next[table.name]
        self.next[table.name] = value + 1
        return value


def _instance_rows(
    template: Template, ids: _Ids, rng: random.Random, now: datetime, rows: dict[str, list[dict]]
) -> None:
    """Rows for one filler instance: contact, instance, ready + completed tasks, history, index entries."""
    received = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
    child = _child(rng)
    contact_id, instance_id = ids.take(CONTACTS), ids.take(INSTANCES)
    payload = copy.deepcopy(template.contact["payload"])
    payload["child"] = child
    rows["contacts"].append(
        {**template.contact, "id": contact_id, "received_at": received, "payload": payload, "created_at": received}
    )
    case_data = dict(template.instance["case_data"] or {})
    case_data.update(
        {"contact_id": contact_id, "instance_id": instance_id, "child": child, "received_at": received.isoformat()}
    )
    rows["process_instances"].append(
        {
            **template.instance,
            "id": instance_id,
            "contact_id": contact_id,
            "case_data": case_data,
            "created_at": received,
            "updated_at": received,
            "lock_version": 1,
        }
    )
    task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    rows["tasks"].append(
        {
            **template.task,
            "id": task_id,
            "instance_id": instance_id,
            "created_at": received,
            "due_at": received + timedelta(hours=rng.randrange(1, 72)),
        }
    )
    if instance_id % 2:
        for n, (bpmn_id, title, role, form) in enumerate(COMPLETED_TASKS):
            done = received + timedelta(minutes=10 * (n + 1))
            rows["tasks"].append(
                {
                    **template.task,
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "instance_id": instance_id,
                    "bpmn_id": bpmn_id,
                    "title": title,
                    "role": role,
                    "form": form,
                    "state": "completed",
                    "created_at": received,
                    "due_at": None,
                    "completed_at": done,
                    "completed_by": template.instance["created_by"],
                }
            )
    prev = None
    for n, pattern in enumerate(template.events):
        event_id = ids.take(HISTORY)
        digest = _hex64(event_id)
        detail = dict(pattern["detail"] or {})
        if "contact_id" in detail:
            detail["contact_id"] = contact_id
        task_ref = task_id if pattern["task_id"] else None
        rows["history_events"].append(
            {
                **pattern,
                "id": event_id,
                "instance_id": instance_id,
                "at": received + timedelta(seconds=n),
                "task_id": task_ref,
                "detail": detail,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    if instance_id % 2 == 0:
        _index_rows(child, contact_id, instance_id, received, ids, rng, rows)


def _index_rows(
    child: dict,
    contact_id: int,
    instance_id: int,
    received: datetime,
    ids: _Ids,
    rng: random.Random,
    rows: dict[str, list[dict]],
) -> None:
    """A case-index child (every second instance) with a previous contact, some open or recently closed."""
    child_id = ids.take(INDEX_CHILDREN)
    status = rng.choices(("none", "closed", "open"), weights=(6, 3, 1))[0]
    rows["index_children"].append(
        {
            "id": child_id,
            "external_ref": f"BENCH{child_id}",
            "first_name": child["first_name"],
            "last_name": child["last_name"],
            "name_folded": fold(f"{child['first_name']} {child['last_name']}"),
            "surname_codes": SURNAME_CODES[child["last_name"]],
            "date_of_birth": date.fromisoformat(child["date_of_birth"]),
            "gender": child["gender"],
            "social_care_status": status,
            "allocated_worker": "A Worker" if status == "open" else None,
            "allocated_team": rng.choice(("daat", "first_response")) if status == "open" else None,
            "early_help_open": rng.random() < 0.1,
            "lead_professional": None,
            "closed_on": (received - timedelta(days=rng.randrange(400))).date() if status == "closed" else None,
            "closing_team": "first_response" if status == "closed" else None,
            "source": "case_system",
            "updated_at": received,
        }
    )
    rows["index_contacts"].append(
        {
            "id": ids.take(INDEX_CONTACTS),
            "child_id": child_id,
            "contact_id": contact_id,
            "instance_id": instance_id,
            "received_at": received,
            "outcome": rng.choice(("nfa", "early_help", "s17_assessment", "information_given")),
            "rag": rng.choice(("GREEN", "AMBER", "NONE")),
        }
    )


def _batches(total: int) -> Iterator[int]:
    while total > 0:
        size = min(BATCH, total)
        yield size
        total -= size


def fill(
    engine: Engine,
    template: Template,
    how_many: int,
    *,
    seed: int = 1,
    progress: Callable[[str], None] = lambda _m: None,
) -> None:
    """Add `how_many` instances (with their contacts, tasks, history, index rows), one transaction per batch."""
    rng = random.Random(seed + count_instances(engine))
    ids = _Ids(_next_ids(engine))
    now = datetime.now(UTC)
    done = 0
    for size in _batches(how_many):
        rows: dict[str, list[dict]] = {t.name: [] for t in TABLES}
        for _ in range(size):
            _instance_rows(template, ids, rng, now, rows)
        with engine.begin() as conn:
            for table in (CONTACTS, INSTANCES, TASKS, HISTORY, INDEX_CHILDREN, INDEX_CONTACTS):
                if rows[table.name]:
                    conn.execute(insert(table), rows[table.name])
        done += size
        progress(f"  filled {done}/{how_many} instances")
    _after_fill(engine)


def _after_fill(engine: Engine) -> None:
    """PostgreSQL: move id sequences past the explicit ids; refresh planner statistics as autovacuum would.
    SQLite: refresh them as `mash scheduler` does every hour (app/services/core/planner_statistics.py), which a
    database grown to this size over time has had."""
    if engine.dialect.name == "sqlite":
        from app.services.core.planner_statistics import analyze

        with engine.begin() as conn:
            analyze(conn)
        return
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in TABLES:
            if table is TASKS:
                continue
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
