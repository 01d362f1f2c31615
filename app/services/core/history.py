"""Append-only history with a per-instance hash chain.

Events hold ids, codes and field names — case content appears only where the auditor needs
it (decision inputs/outputs, changed fields) and never goes to application logs.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import HistoryEvent, HistoryHead, User
from app.services.core.events import EventType


def _digest(
    prev_hash: str | None,
    at: datetime,
    type_: str,
    actor: str | None,
    bpmn_id: str | None,
    task_id: str | None,
    detail: dict,
) -> str:
    body = json.dumps(
        [prev_hash, at.isoformat(), type_, actor, bpmn_id, task_id, detail],
        sort_keys=True,
        default=str,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    type_: EventType | str,
    *,
    instance_id: int | None = None,
    actor: User | None = None,
    bpmn_id: str | None = None,
    task_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> HistoryEvent:
    """Add one event to the current transaction (the caller's unit of work commits it). `type_` is one of
    the EventType list (app/services/core/events.py), stored as its string."""
    type_ = str.__str__(type_)
    detail = json.loads(json.dumps(detail or {}, default=str))
    prev_hash = None
    if instance_id is not None:
        heads = _heads()
        if instance_id not in heads:
            lock_chain(instance_id)  # takes the lock and reads the head in one statement
            heads = _heads()
        prev_hash = heads[instance_id]
    at = CLOCK.now()
    actor_name = actor.username if actor is not None else "system"
    event = HistoryEvent(
        instance_id=instance_id,
        at=at,
        type=type_,
        actor_id=actor.id if actor is not None else None,
        actor=actor_name,
        bpmn_id=bpmn_id,
        task_id=task_id,
        detail=detail,
        prev_hash=prev_hash,
        hash=_digest(prev_hash, at, type_, actor_name, bpmn_id, task_id, detail),
    )
    db.session.add(event)
    if instance_id is not None:
        heads[instance_id] = event.hash
    return event


def _heads() -> dict[int, str | None]:
    """The chain head of each case this transaction holds the lock of and has written to: a completion
    writes several events and needs the lock and the head once. Kept per database transaction (a head
    read in an earlier transaction could be stale), and dropped by unit_of_work at its end."""
    transaction = db.session().get_transaction()  # the Session itself: the scoped proxy has no get_transaction
    cache = db.session.info.get("history_heads")
    if cache is None or cache[0] is not transaction:
        cache = db.session.info["history_heads"] = (transaction, {})
    return cache[1]


def lock_chain(instance_id: int) -> None:
    """Wait for other writers of this case's history (PostgreSQL row lock on its trigger-kept anchor),
    so the event about to be written chains from the latest committed one and concurrent writers
    (a view beside a completion) never fork the chain. SQLite serialises writers already.

    The anchor row (kept by the database's trigger on every insert, migration e7a1c0de0001) holds the
    newest entry's hash: read under the lock, it is the head the next event chains from, so taking
    the lock and reading the head is one statement. No anchor yet: the case has no history (None)."""
    head = db.session.execute(
        select(HistoryHead.head_hash).where(HistoryHead.chain == instance_id).with_for_update()
    ).scalar_one_or_none()
    _heads()[instance_id] = head


def new_chain(instance_id: int) -> None:
    """A case created in this transaction: its chain has no entry yet, so nothing to lock or read."""
    _heads()[instance_id] = None


def for_instance(instance_id: int) -> list[HistoryEvent]:
    return list(
        db.session.execute(
            select(HistoryEvent).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.id)
        ).scalars()
    )
