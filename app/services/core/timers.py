"""Fire due BPMN timers exactly once (and start overdue reviews exactly once: app/services/core/overdue.py).

Each due row is claimed inside the transaction that fires it (`FOR UPDATE SKIP LOCKED` on
PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers), the workflow is advanced, and state,
inbox, history and the row's `fired` mark commit together. A crash mid-fire rolls everything
back, so the row is claimed again next sweep; a second scheduler skips rows already claimed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from app.engine.clock import CLOCK
from app.engine.errors import ProcessError
from app.extensions import db
from app.models import OverdueRecord, ProcessInstance, TimerRecord
from app.services.cases.persist import persist_run
from app.services.cases.runs import operations_for
from app.services.core import engine_host, history, overdue
from app.services.core.transaction import unit_of_work

log = logging.getLogger(__name__)


def _claim_one(now: datetime) -> TimerRecord | None:
    return db.session.execute(
        select(TimerRecord)
        .where(TimerRecord.state == "waiting", TimerRecord.due_at <= now)
        .order_by(TimerRecord.due_at, TimerRecord.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()


def fire_due(now: datetime | None = None, limit: int = 500) -> int:
    """Fire every timer due at `now` (default: the clock), and start the overdue review of every task whose due
    time has passed (app/services/core/overdue.py: the same claim, once). Returns how many rows it handled.

    With `now`, the clock is set to it for the sweep (operations: `mash timers fire-due --now`),
    because the engine itself decides that a timer has passed by reading the clock."""
    if now is not None:
        CLOCK.freeze(now)
        now = None
    fired = 0
    while fired < limit:
        moment = now or CLOCK.now()
        with unit_of_work():
            row = _claim_one(moment)
            late = overdue.claim_one(moment) if row is None else None
            claimed = row or late
            if claimed is None:
                return fired
            instance = db.session.get_one(ProcessInstance, claimed.instance_id)
            alerts: list[dict] = []
            runtime = engine_host.runtime(instance.deployment_id, operations_for(instance, alerts))
            workflow = engine_host.restore(runtime, instance)  # the live workflow when it is the state read
            if row is None:  # an overdue alert (late), not a timer
                if late is not None and _start_overdue_review(instance, runtime, workflow, late, alerts, moment):
                    fired += 1
                continue
            try:
                runtime.fire_timers(workflow)
            except ProcessError as err:  # leave the timer waiting; the failure is in history for the manager
                log.warning("timer %s of instance %s could not fire: %s", row.id, instance.id, err.bpmn_id)
                db.session.rollback()
                with unit_of_work():
                    history.record(
                        "timer_failed",
                        instance_id=row.instance_id,
                        bpmn_id=row.bpmn_id,
                        detail={"timer_id": row.id, "reason": err.message},
                    )
                    db.session.get_one(TimerRecord, row.id).state = "failed"
                continue
            persist_run(instance, runtime, workflow, None, alerts)  # marks every fired row, with history
        fired += 1
    return fired


def _start_overdue_review(
    instance: ProcessInstance, runtime, workflow, row: OverdueRecord, alerts: list[dict], moment: datetime
) -> bool:
    """Run the case whose task is late: the run sends the overdue message and marks the row `sent`
    (persist_run → overdue.send_due / overdue.sync), in this transaction. False when it could not."""
    row_id, instance_id, bpmn_id = row.id, row.instance_id, row.bpmn_id
    try:
        runtime.fire_timers(workflow)  # a timer due by now fires too, as a user's step would fire it
        persist_run(instance, runtime, workflow, None, alerts)
    except ProcessError as err:  # the diagram's review could not start: recorded, never retried in a loop
        log.warning("overdue review %s of instance %s could not start: %s", row_id, instance_id, err.bpmn_id)
        db.session.rollback()
        with unit_of_work():
            history.record(
                "overdue_failed",
                instance_id=instance_id,
                bpmn_id=bpmn_id,
                detail={"overdue_id": row_id, "reason": err.message},
            )
            db.session.get_one(OverdueRecord, row_id).state = "failed"
        return False
    if row.state == "waiting" and row.due_at <= moment:  # the run found nothing to send (no pattern any more)
        row.state = "cancelled"
    return True
