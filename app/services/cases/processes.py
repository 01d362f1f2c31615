"""Start any deployed process: from the UI and POST /api/v1/processes/{process_id}/instances.

Who may start a process: the role(s) of its first user task — the lane (or, for a task drawn
without lanes, its `camunda:candidateGroups`) of the first user task reachable from the start
event. The person who starts the process is the one who works its first step. Processes called
by another (call activities) and those with their own start (a contact, a dispute) are not
listed.
"""

from __future__ import annotations

import json
from typing import Any

from app.models import ProcessInstance, User
from app.services.access import permissions
from app.services.cases import runs
from app.services.core import engine_host
from app.services.core.errors import Forbidden, Invalid, NotFound, ProcessFailed
from app.services.core.states import ProcessId
from app.services.core.transaction import unit_of_work
from app.services.modelling import deployments

DEDICATED_STARTS: dict[str, str] = {
    ProcessId.FRONT_DOOR: "Record a contact instead (POST /api/v1/contacts)",
    ProcessId.ESCALATION: "Raise a dispute from the case instead (POST /api/v1/instances/{id}/disputes)",
    ProcessId.AUDIT_SAMPLING: "The monthly audit cycle runs once, started by `mash audit-sampling start`",
}
RESERVED_FIELDS = frozenset({"instance_id", "contact_id", "started_by", "case_instance_id"})
MAX_START_DATA_BYTES = 64 * 1024


def _catalogue() -> tuple[Any, Any]:
    deployment = deployments.latest()
    if deployment is None:
        raise ProcessFailed("No process is deployed yet: run `mash deploy`")
    return deployment, engine_host.bundle_for(deployment.id)


def startable(user: User) -> list[dict]:
    """The processes this user may start, newest version, with the roles that may start each."""
    deployment, bundle = _catalogue()
    called = bundle.called_process_ids()
    result = []
    for process_id in sorted(bundle.process_specs):
        if process_id in called or process_id in DEDICATED_STARTS:
            continue
        roles = bundle.start_roles(process_id)
        if roles & user.roles:
            result.append(
                {
                    "process_id": process_id,
                    "name": bundle.process_name(process_id),
                    "version": deployment.version,
                    "roles": sorted(roles),
                }
            )
    return result


def _check_data(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Invalid({"data": ["Send the start data as an object of named values"]})
    errors: dict[str, list[str]] = {}
    for key in data:
        if not isinstance(key, str) or not key.isidentifier() or key.startswith("_"):
            errors.setdefault(str(key), []).append("A data name must be letters, digits and _ and not start with _")
        elif key in RESERVED_FIELDS:
            errors.setdefault(key, []).append("This name is set by the host")
    try:
        size = len(json.dumps(data))
    except (TypeError, ValueError):
        errors.setdefault("data", []).append("The start data must be plain JSON values")
        size = 0
    if size > MAX_START_DATA_BYTES:
        errors.setdefault("data", []).append(f"The start data is larger than {MAX_START_DATA_BYTES // 1024} KB")
    if errors:
        raise Invalid(errors)
    return data


def start(user: User, process_id: str, data: dict[str, Any] | None = None) -> ProcessInstance:
    deployment, bundle = _catalogue()
    if process_id not in bundle.process_specs:
        raise NotFound(f"There is no deployed process {process_id!r}")
    if process_id in DEDICATED_STARTS:
        raise Forbidden(DEDICATED_STARTS[process_id])
    if process_id in bundle.called_process_ids():
        raise Forbidden("This process runs inside another one: start that one")
    roles = bundle.start_roles(process_id)
    if not roles & user.roles:
        permissions.deny(
            user,
            "start_process",
            process_id=process_id,
            message=f"Only {', '.join(sorted(roles)) or 'nobody'} can start this process",
        )
    seed = {**_check_data(data or {}), "started_by": user.username}
    with unit_of_work():
        instance = runs.start_instance_in_transaction(
            deployment, process_id, seed, user, started_detail={"fields": sorted(data or {}), "via": "start"}
        )
    return instance
