"""What one engine run writes, in the caller's transaction: the case's state and data, its RAG and outcome, the
inbox rows of its ready tasks, its waiting timers and the history of all of it."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from app.engine.clock import CLOCK
from app.engine.runtime import Runtime
from app.extensions import db
from app.models import Deployment, ProcessInstance, TaskRecord, TimerRecord, User
from app.services.cases import worklist
from app.services.core import engine_host, forms, history, overdue
from app.services.core.clock import parse_instant
from app.services.core.events import EventType
from app.services.core.states import InstanceStatus, TaskState, TimerState


def persist_run(
    instance: ProcessInstance, runtime: Runtime, workflow, actor: User | None, alerts: list[dict]
) -> list[TaskRecord]:
    """Write state, case data, inbox projection and history for one engine run. Returns the case's
    ready task rows as they now stand (what the answer to the caller shows, without reading them back)."""
    now = CLOCK.now()
    case_data = dict(instance.case_data or {})
    local = overdue.local_names(workflow)  # an overdue review's own facts are never case data (issue 16)
    case_data.update(_changes(runtime, local))
    withdrawn = runtime.withdraw_tasks(workflow, case_data)
    case_data.update(_changes(runtime, local))
    late = overdue.send_due(runtime, workflow, case_data, now)  # the diagram's "Work overdue", once per late task
    if late:
        case_data.update(_changes(runtime, local))
    if case_data.get("rag") != instance.rag:  # when the RAG last changed: timers may follow it (spec §11.3)
        case_data["rag_changed_at"] = now.astimezone(UTC).isoformat()
    runtime.follow_case_dates(workflow, case_data)
    instance.state = runtime.dump(workflow)
    engine_host.keep_after_commit(instance, runtime, workflow)  # the engine calls below only read the workflow
    instance.case_data = case_data
    if case_data.get("rag") != instance.rag:  # the case's RAG before → after, for the audit timeline
        history.record(
            EventType.RAG_CHANGED,
            instance_id=instance.id,
            actor=actor,
            detail={"from": instance.rag, "to": case_data.get("rag")},
        )
    instance.rag = case_data.get("rag")
    instance.outcome = case_data.get("outcome")
    instance.outcome_due_at = parse_instant(case_data.get("outcome_due_at"))
    waiting = runtime.waiting_timers(workflow)  # one scan serves next_timer_at and the timer rows
    had_waiting_timers = instance.next_timer_at is not None  # as the last run left it (see _sync_timers)
    instance.next_timer_at = min((due for _, _, due in waiting), default=None)
    instance.updated_at = now
    version = engine_host_version(instance.deployment_id)
    for bpmn_id, result in runtime.log.decisions:
        history.record(
            EventType.DECISION_EVALUATED,
            instance_id=instance.id,
            bpmn_id=bpmn_id,
            actor=actor,
            detail={
                "decision_id": result.decision_id,
                "table_id": result.table_id,
                "hit_policy": result.hit_policy,
                "inputs": result.inputs,
                "outputs": result.outputs,
                "matched_rules": result.matched_rule_ids,
                "deployment_version": version,
            },
        )
    for route in runtime.log.routes:
        history.record(
            EventType.ROUTE_TAKEN,
            instance_id=instance.id,
            bpmn_id=route["bpmn_id"],
            actor=actor,
            detail={"gateway": route["name"], "to": route["to"]},
        )
    for alert in alerts:
        history.record(EventType.ALERT_RAISED, instance_id=instance.id, actor=actor, detail=alert)
    for task in withdrawn:
        history.record(
            EventType.TASK_WITHDRAWN,
            instance_id=instance.id,
            bpmn_id=task.bpmn_id,
            task_id=task.id,
            actor=actor,
            detail={"role": task.role, "team": task.team, "agency": task.agency},
        )
    ready_rows = _sync_tasks(instance, runtime, workflow, now, withdrawn={t.id for t in withdrawn}, actor=actor)
    overdue.sync(instance, runtime, workflow, ready_rows, late, case_data, now)
    if had_waiting_timers or waiting or runtime.log.timers_fired:
        _sync_timers(instance, waiting, runtime.log.timers_fired)
    # else: nothing waits now, nothing fired, and nothing waited before (each run leaves next_timer_at
    # the earliest of exactly the rows it leaves waiting): there is no timer row to read or write
    if workflow.is_completed() and instance.status != InstanceStatus.COMPLETED:
        instance.status = InstanceStatus.COMPLETED
        instance.ended_at = now
        history.record(
            EventType.INSTANCE_ENDED,
            instance_id=instance.id,
            actor=actor,
            detail={"outcome": instance.outcome, "rag": instance.rag},
        )
    return ready_rows


def _changes(runtime: Runtime, local: frozenset[str]) -> dict:
    changed = runtime.log.changed
    return {k: v for k, v in changed.items() if k not in local} if local else changed


@functools.lru_cache(maxsize=64)
def engine_host_version(deployment_id: int) -> int:
    return db.session.get_one(Deployment, deployment_id).version


def _sync_timers(
    instance: ProcessInstance,
    waiting: list[tuple[str, str, datetime]],
    fired: Sequence[tuple[str, str, datetime | None]] = (),
) -> None:
    """One row per waiting timer, in the same transaction as the state (the scheduler fires rows).

    `fired` are the timers the run itself fired. One already due when its case started (or its task
    began) never waited, so it has no row: it gets one, and its `timer_fired` event, like any other."""
    rows = {
        t.task_id: t
        for t in db.session.execute(
            select(TimerRecord).where(TimerRecord.instance_id == instance.id, TimerRecord.state == TimerState.WAITING)
        ).scalars()
    }
    now = CLOCK.now()
    fired_now = {task_id: (bpmn_id, due_at) for task_id, bpmn_id, due_at in fired}
    for task_id, bpmn_id, due_at in waiting:
        row = rows.pop(task_id, None)
        if row is None:
            row = TimerRecord(instance_id=instance.id, task_id=task_id, bpmn_id=bpmn_id, due_at=due_at)
            db.session.add(row)
        elif task_id in fired_now:  # a cycle fired and waits for its next time
            _timer_fired(instance, row, now)
        if row.due_at != due_at:
            row.due_at = due_at
        fired_now.pop(task_id, None)
    for row in rows.values():  # no longer waiting: it fired (its time came) or the process moved on
        if fired_now.pop(row.task_id, None) is not None or row.due_at <= now:
            row.state, row.fired_at = TimerState.FIRED, now
            _timer_fired(instance, row, now)
        else:
            row.state = TimerState.CANCELLED
    for task_id, (bpmn_id, fired_due) in fired_now.items():  # fired in this run without ever waiting
        row = TimerRecord(
            instance_id=instance.id,
            task_id=task_id,
            bpmn_id=bpmn_id,
            due_at=fired_due or now,
            state=TimerState.FIRED,
            fired_at=now,
        )
        db.session.add(row)
        db.session.flush()
        _timer_fired(instance, row, now)


def _timer_fired(instance: ProcessInstance, row: TimerRecord, now: datetime) -> None:
    history.record(
        EventType.TIMER_FIRED,
        instance_id=instance.id,
        bpmn_id=row.bpmn_id,
        task_id=row.task_id,
        detail={"timer_id": row.id, "due_at": (row.due_at or now).isoformat()},
    )


def _sync_tasks(
    instance: ProcessInstance,
    runtime: Runtime,
    workflow,
    now: datetime,
    withdrawn: frozenset[str] | set[str] = frozenset(),
    actor: User | None = None,
) -> list[TaskRecord]:
    """The inbox projection of the engine's ready user tasks. Returns the ready rows in the order a
    read of them would give (those already stored as the database returned them, then the new ones)."""
    existing = {
        t.id: t
        for t in db.session.execute(
            select(TaskRecord).where(TaskRecord.instance_id == instance.id, TaskRecord.state == TaskState.READY)
        ).scalars()
    }
    stored = dict(existing)
    added: list[TaskRecord] = []
    ready = runtime.ready_tasks(workflow, instance.case_data)
    steps_done: dict[str, str] | None = None  # who completed each step, read once if a new task asks (`assignTo`)
    for task in ready:
        row = existing.pop(task.id, None)
        if row is not None and row.due_at != parse_instant(task.due_at):
            history.record(
                EventType.TASK_DUE_CHANGED,
                instance_id=instance.id,
                bpmn_id=task.bpmn_id,
                task_id=task.id,
                detail={"from": row.due_at, "to": task.due_at},
            )
            row.due_at = parse_instant(task.due_at)
        if row is None:
            fields = forms.declared_fields(runtime.bundle.forms.get(task.form or "") or {})
            row = TaskRecord(
                id=task.id,
                instance_id=instance.id,
                bpmn_id=task.bpmn_id,
                title=task.title,
                role=task.role,
                team=task.team,
                agency=task.agency,
                state=TaskState.READY,
                due_at=parse_instant(task.due_at),
                form=task.form,
                form_data={k: v for k, v in task.data.items() if k in fields and v is not None},
                exclude_actors_of=list(task.exclude_actors_of) or None,
                created_at=now,
            )
            db.session.add(row)
            added.append(row)
            history.record(
                EventType.TASK_READY,
                instance_id=instance.id,
                bpmn_id=task.bpmn_id,
                task_id=task.id,
                detail={"role": task.role, "team": task.team, "agency": task.agency, "due_at": task.due_at},
            )
            assign_to = runtime.bundle.task_properties(task.bpmn_id).get("assignTo")
            if assign_to:  # the diagram names who does it (e.g. the decision maker the manager allocated to)
                if steps_done is None:
                    steps_done = worklist.completed_by(instance.id)
                worklist.assign_by_model(
                    row,
                    assign_to,
                    {**task.data, **(instance.case_data or {}), "completed_by": steps_done},
                    runtime.evaluator.evaluate,
                    actor,
                )
        row.rag = instance.rag
    for row in existing.values():  # no longer ready and not completed by a person: withdrawn or cancelled
        row.state = TaskState.WITHDRAWN if row.id in withdrawn else TaskState.CANCELLED
        row.completed_at = now
    return [row for task_id, row in stored.items() if task_id not in existing] + added
