"""Overdue reviews, exactly once: the host half of the diagram's one "Work overdue" pattern (issue 16).

The diagram says what happens when work is late (an event sub-process started by the message `task_overdue`,
app/engine/overdue.py, docs/modelling.md "Deadlines and overdue work"); the host says when: at a ready user task's
due time (its `dueAt`, the same instant the inbox shows), once per task instance, for any deployed process that has
such an event sub-process, and for no other.

Exactly once, like the BPMN timers (app/services/core/timers.py):
- every engine run (`persist_run`) sends the message for each eligible ready task already past its due time, and
  marks the task in the engine state; state, review task, history and the task's row commit together;
- a task due later has an `overdue_alerts` row, kept in step with its due time by every run (a RAG raised
  elsewhere moves it); the sweep claims a due row (`FOR UPDATE SKIP LOCKED`; SQLite's BEGIN IMMEDIATE serialises
  writers), restores the case and runs it, which sends the message and marks the row `sent` in that transaction.
  A crash rolls all of it back, so the row is claimed again; a second worker skips a claimed row; the instance's
  optimistic lock stops a user's run and a sweep both sending for the same task.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from app.engine import overdue as pattern
from app.engine.runtime import ReadyTask, Runtime
from app.extensions import db
from app.models import OverdueRecord, ProcessInstance, TaskRecord
from app.services.core import history, labels
from app.services.core.clock import parse_instant

HISTORY_EVENT = "task_overdue"


def listener_of(workflow) -> pattern.Listener | None:
    return pattern.listener(workflow.spec, workflow.subprocess_specs)


def local_names(workflow) -> frozenset[str]:
    """Names each started review keeps to itself (its message variable): never written to the case data."""
    return pattern.local_names(listener_of(workflow))


def held_by(task: ReadyTask) -> str:
    """Who holds the late task, in words: its team, else its agency, else its role."""
    if task.team:
        return labels.TEAMS.get(task.team, labels.humanise(task.team))
    if task.agency:
        return labels.AGENCIES.get(task.agency, labels.humanise(task.agency))
    return labels.ROLES.get(task.role or "", labels.humanise(task.role or "nobody"))


def payload(task: ReadyTask) -> dict[str, str]:
    """What the diagram's review reads (the message variable): which task, who holds it, since when, in words.
    The machine facts (task id, BPMN id, the due instant) go to history with the `task_overdue` event."""
    return {"task": task.title, "held_by": held_by(task), "due": labels.london(task.due_at)}


@dataclass(frozen=True)
class Late:
    """A task this run found late, and the review task(s) the diagram opened for it."""

    task: ReadyTask
    reviews: tuple[str, ...]


def send_due(runtime: Runtime, workflow, case_data: Mapping[str, Any], now: datetime) -> list[Late]:
    """Start the diagram's review for every eligible ready task whose due time has passed, once each. Runs in the
    engine run's transaction, before the state is saved; returns the tasks it was sent for (for `sync`).

    Cheap when nothing is late: a process without the pattern costs one attribute read; with it, one pass over the
    ready tasks (their `dueAt` is evaluated as the inbox does, over the task's data and the case as it stands)."""
    found = listener_of(workflow)
    if found is None:
        return []
    sent: list[Late] = []
    while True:
        ready = runtime.ready_tasks(workflow, case_data)
        late = next(
            (
                t
                for t in ready
                if pattern.is_due(t.due_at, now) and pattern.eligible(runtime, workflow, t.id, case_data)
            ),
            None,
        )
        if late is None:
            return sent
        reviews = pattern.send(runtime, workflow, found, late.id, payload(late))  # advances: the review is ready now
        sent.append(Late(late, tuple(reviews)))


def sync(
    instance: ProcessInstance,
    runtime: Runtime,
    workflow,
    ready_rows: list[TaskRecord],
    sent: list[Late],
    case_data: Mapping[str, Any],
    now: datetime,
) -> None:
    """The `overdue_alerts` rows as this run leaves them, in its transaction: one `waiting` row per eligible ready
    task with a due time still to come (at that due time), `sent` for the tasks this run sent (with their history
    event), `cancelled` for rows whose task is no longer ready, has no due time or opted out."""
    if listener_of(workflow) is None:
        return  # the deployed diagram has no overdue pattern: no rows were ever written for this case
    ready_ids = [row.id for row in ready_rows]
    rows = {
        r.task_id: r
        for r in db.session.execute(
            select(OverdueRecord).where(
                OverdueRecord.instance_id == instance.id,
                or_(OverdueRecord.state == "waiting", OverdueRecord.task_id.in_(ready_ids + [s.task.id for s in sent])),
            )
        ).scalars()
    }
    for late in sent:
        task = late.task
        row = rows.pop(task.id, None)
        if row is None:
            row = OverdueRecord(
                instance_id=instance.id, task_id=task.id, bpmn_id=task.bpmn_id, due_at=parse_instant(task.due_at) or now
            )
            db.session.add(row)
        row.state, row.sent_at = "sent", now
        history.record(
            HISTORY_EVENT,
            instance_id=instance.id,
            bpmn_id=task.bpmn_id,
            task_id=task.id,
            detail={
                "title": task.title,
                "due_at": task.due_at,
                "role": task.role,
                "team": task.team,
                "agency": task.agency,
                "reviews": list(late.reviews),
            },
        )
    for ready in ready_rows:
        row = rows.pop(ready.id, None)
        if ready.due_at is None or not pattern.eligible(runtime, workflow, ready.id, case_data):
            if row is not None and row.state == "waiting":
                row.state = "cancelled"
            continue
        if row is None:
            db.session.add(
                OverdueRecord(instance_id=instance.id, task_id=ready.id, bpmn_id=ready.bpmn_id, due_at=ready.due_at)
            )
        else:
            row.state, row.due_at = "waiting", ready.due_at
    for row in rows.values():  # its task is no longer ready (completed, withdrawn, cancelled)
        if row.state == "waiting":
            row.state = "cancelled"


def claim_one(now: datetime) -> OverdueRecord | None:
    return db.session.execute(
        select(OverdueRecord)
        .where(OverdueRecord.state == "waiting", OverdueRecord.due_at <= now)
        .order_by(OverdueRecord.due_at, OverdueRecord.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()
