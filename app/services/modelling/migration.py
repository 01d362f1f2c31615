"""Move running instances to a newer deployed version, on purpose, one recorded step per instance.

New contacts start on the newest version; running instances stay on theirs until a service
manager moves them here. `preview` says which can move and why others cannot; `migrate` moves
the chosen ones, each in its own transaction with an `instance_migrated` history event. Open
tasks keep their ids and claims; timers keep their due instants (the stored event time is
carried over); task due times are worked out again from the new version's `dueAt` (a change is
recorded as `task_due_changed`, as for any other run).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.engine.migrate import check_and_rebase, repredict
from app.extensions import db
from app.models import Deployment, ProcessInstance, User
from app.services.access import permissions
from app.services.cases import persist, runs
from app.services.core import engine_host, history
from app.services.core.errors import Forbidden, NotFound
from app.services.core.events import EventType
from app.services.core.states import InstanceStatus
from app.services.core.transaction import unit_of_work

MIGRATING_ROLES = permissions.roles_for("migration.run")


@dataclass
class MigrationCandidate:
    instance_id: int
    from_version: int
    can_move: bool
    reason: str
    active_tasks: tuple[str, ...] = ()
    moved: bool = False


def _version(version: int) -> Deployment:
    deployment = db.session.execute(select(Deployment).where(Deployment.version == version)).scalar_one_or_none()
    if deployment is None:
        raise NotFound(f"There is no version {version}")
    return deployment


def _check(instance: ProcessInstance, target: Deployment) -> tuple[MigrationCandidate, str | None]:
    from_version = persist.engine_host_version(instance.deployment_id)
    if instance.status != InstanceStatus.RUNNING:
        return MigrationCandidate(instance.id, from_version, False, f"the case is {instance.status}"), None
    if from_version >= target.version:
        return MigrationCandidate(
            instance.id,
            from_version,
            False,
            f"it is already on version {from_version}, not older than {target.version}",
        ), None
    old, new = engine_host.bundle_for(instance.deployment_id), engine_host.bundle_for(target.id)
    check, state = check_and_rebase(instance.state, instance.process_id, old, new)
    return MigrationCandidate(instance.id, from_version, check.can_move, check.reason, check.active), state


def running_processes() -> list[str]:
    return sorted(
        db.session.execute(
            select(ProcessInstance.process_id).where(ProcessInstance.status == InstanceStatus.RUNNING).distinct()
        ).scalars()
    )


def preview(process_id: str, to_version: int) -> list[MigrationCandidate]:
    """Every running instance of the process on an older version: can it move, and if not, why."""
    target = _version(to_version)
    instances = (
        db.session.execute(
            select(ProcessInstance)
            .where(
                ProcessInstance.process_id == process_id,
                ProcessInstance.status == InstanceStatus.RUNNING,
                ProcessInstance.deployment_id != target.id,
            )
            .order_by(ProcessInstance.id)
        )
        .scalars()
        .all()
    )
    return [_check(instance, target)[0] for instance in instances]


def migrate(instance_ids: list[int], to_version: int, actor: User) -> list[MigrationCandidate]:
    """Move each chosen instance that can move; the result says, per instance, what happened."""
    if not actor.roles & MIGRATING_ROLES:
        raise Forbidden("Only a service manager can move cases to a new version")
    target = _version(to_version)
    results = []
    for instance_id in instance_ids:
        instance = db.session.get(ProcessInstance, int(instance_id))
        if instance is None:
            raise NotFound(f"No such case {instance_id}")
        candidate, state = _check(instance, target)
        if not candidate.can_move or state is None:
            results.append(candidate)
            continue
        with unit_of_work():
            instance = db.session.get_one(ProcessInstance, int(instance_id))
            alerts: list[dict] = []
            old_hash = engine_host.bundle_for(instance.deployment_id).bundle_hash
            instance.deployment_id = target.id
            runtime = engine_host.runtime(target.id, runs.operations_for(instance, alerts))
            workflow = runtime.restore(instance.process_id, state)
            repredict(workflow)
            history.record(
                EventType.INSTANCE_MIGRATED,
                instance_id=instance.id,
                actor=actor,
                detail={
                    "from_version": candidate.from_version,
                    "to_version": target.version,
                    "from_hash": old_hash,
                    "to_hash": target.bundle_hash,
                    "open_tasks": list(candidate.active_tasks),
                },
            )
            persist.persist_run(instance, runtime, workflow, actor, alerts)
        candidate.moved = True
        results.append(candidate)
    return results
