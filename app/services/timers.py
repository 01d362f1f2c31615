"""Fire due BPMN timers exactly once.

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
from app.models import ProcessInstance, TimerRecord
from app.services import cases, engine_host, history
from app.services.transaction import unit_of_work

log = logging.getLogger(__name__)


def _claim_one(now: datetime) -> TimerRecord | None:
    return db.session.execute(
        select(TimerRecord).where(TimerRecord.state == "waiting", TimerRecord.due_at <= now)
        .order_by(TimerRecord.due_at, TimerRecord.id).limit(1).with_for_update(skip_locked=True)
    ).scalar_one_or_none()


def fire_due(now: datetime | None = None, limit: int = 500) -> int:
    """Fire every timer due at `now` (default: the clock). Returns how many fired.

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
            if row is None:
                return fired
            instance = db.session.get(ProcessInstance, row.instance_id)
            alerts: list[dict] = []
            runtime = engine_host.runtime(instance.deployment_id, cases.operations_for(instance, alerts))
            workflow = runtime.restore(instance.process_id, instance.state)
            try:
                runtime.fire_timers(workflow)
            except ProcessError as err:  # leave the timer waiting; the failure is in history for the manager
                log.warning("timer %s of instance %s could not fire: %s", row.id, instance.id, err.bpmn_id)
                db.session.rollback()
                with unit_of_work():
                    history.record("timer_failed", instance_id=row.instance_id, bpmn_id=row.bpmn_id,
                                   detail={"timer_id": row.id, "reason": err.message})
                    db.session.get(TimerRecord, row.id).state = "failed"
                continue
            cases.persist_run(instance, runtime, workflow, None, alerts)  # marks every fired row, with history
        fired += 1
    return fired
