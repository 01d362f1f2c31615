"""Find and repair cases stopped by a hook the engine never delivered (issue 11).

Why a command: before the restore-safe engine, a Stage 2 case whose last partner answer was handled
by another worker stayed waiting forever with its answers unmerged. Those cases are already in
databases. `mash repair` lists them (dry run) and, when told, delivers the missed hooks and runs each
case on, recording what it did in the case history in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.engine.errors import ProcessError
from app.extensions import db
from app.models import ProcessInstance
from app.services.cases import persist, runs
from app.services.core import engine_host, history
from app.services.core.events import EventType
from app.services.core.states import InstanceStatus
from app.services.core.transaction import unit_of_work

REPAIRED = EventType.INSTANCE_REPAIRED


@dataclass(frozen=True)
class StuckCase:
    instance_id: int
    process_id: str
    steps: list[dict]
    repaired: bool = False
    error: str | None = None


def _running(instance_id: int | None) -> list[int]:
    query = (
        select(ProcessInstance.id).where(ProcessInstance.status == InstanceStatus.RUNNING).order_by(ProcessInstance.id)
    )
    if instance_id is not None:
        query = query.where(ProcessInstance.id == instance_id)
    return list(db.session.execute(query).scalars())


def find_and_repair(*, apply: bool = False, instance_id: int | None = None) -> list[StuckCase]:
    """Every running case with a stuck step; with `apply`, each repaired in its own transaction."""
    found = []
    for iid in _running(instance_id):
        with unit_of_work():
            instance = db.session.get_one(ProcessInstance, iid)
            alerts: list[dict] = []
            runtime = engine_host.runtime(instance.deployment_id, runs.operations_for(instance, alerts))
            workflow = runtime.restore(instance.process_id, instance.state)
            steps = runtime.stuck_steps(workflow)
            if not steps or not apply:
                db.session.rollback()
                if steps:
                    found.append(StuckCase(iid, instance.process_id, steps))
                continue
            try:
                runtime.repair(workflow)
            except ProcessError as err:
                db.session.rollback()
                found.append(StuckCase(iid, instance.process_id, steps, error=err.message))
                continue
            history.record(
                REPAIRED,
                instance_id=iid,
                detail={
                    "steps": [
                        {"bpmn_id": s["bpmn_id"], "kind": s["kind"], "instances": len(s["instances"])} for s in steps
                    ]
                },
            )
            persist.persist_run(instance, runtime, workflow, None, alerts)
        found.append(StuckCase(iid, instance.process_id, steps, repaired=True))
    return found
