"""Disputes about a MASH decision (spec §7): raised from a case, run by processes/escalation.bpmn.

The case is not paused; the dispute is its own instance linked to the case, so its levels,
timers and history are generic process features.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import ProcessInstance, User
from app.services.access import permissions
from app.services.cases import case_view, runs
from app.services.core import engine_host, history
from app.services.core.errors import Forbidden, Invalid, ProcessFailed
from app.services.core.events import EventType
from app.services.core.roles import AGENCIES, AGENCY_ROLES, TEAM_ROLES, TEAMS
from app.services.core.states import ProcessId
from app.services.core.transaction import unit_of_work
from app.services.modelling import deployments
from app.services.partners import partner_request

RAISING_ROLES = permissions.roles_for("disputes.raise")
REVIEW_ROLES = permissions.roles_for("disputes.review")


def raise_dispute(
    user: User,
    case_id: int,
    disputed_decision: str,
    position: str,
    *,
    named_team: str | None = None,
    named_agency: str | None = None,
) -> ProcessInstance:
    """Start a dispute about a case. The host seeds facts only: who raised it (with their team or
    agency), the team or agency the dispute names, and the case's receiving team; the diagram decides
    who sits on each side at level 1 (spec §11.13)."""
    # 404 unless the user may see the case; a partner, who never sees it, about a case it was asked about
    case = (
        partner_request.own_case(user, case_id)
        if partner_request.applies(user)
        else case_view.get_instance(user, case_id)
    )
    if not user.roles & RAISING_ROLES:
        raise Forbidden("Raise a dispute through your line manager")
    errors = {}
    if not (disputed_decision or "").strip():
        errors["disputed_decision"] = ["Say which decision or recommendation you disagree with"]
    if not (position or "").strip():
        errors["position"] = ["Give your position and the reasons for it"]
    if named_team and named_team not in TEAMS:
        errors["named_team"] = [f"Name a team, one of: {', '.join(TEAMS)}"]
    if named_agency and named_agency not in AGENCIES:
        errors["named_agency"] = [f"Name an agency, one of: {', '.join(AGENCIES)}"]
    if errors:
        raise Invalid(errors)
    deployment = deployments.latest()
    if deployment is None or ProcessId.ESCALATION not in engine_host.bundle_for(deployment.id).process_specs:
        raise ProcessFailed("No dispute process is deployed")
    data = case.case_data or {}
    seed: dict[str, Any] = {
        "case_instance_id": case.id,
        "contact_id": case.contact_id,
        "child": data.get("child"),
        "raised_by": user.username,
        "raised_by_role": sorted(user.roles & RAISING_ROLES)[0],
        "raised_at": CLOCK.now().isoformat(),
        "disputed_decision": disputed_decision.strip(),
        "position": position.strip(),
        # the other side at level 1 (spec §11.13): the raiser's own team or agency, else the one named
        "raised_by_team": user.team if user.roles & TEAM_ROLES else None,
        "raised_by_agency": user.agency if user.roles & AGENCY_ROLES else None,
        "named_team": named_team or None,
        "named_agency": named_agency or None,
        "case_receiving_team": data.get("receiving_team"),
    }
    with unit_of_work():
        dispute = runs.start_instance_in_transaction(
            deployment,
            ProcessId.ESCALATION,
            seed,
            user,
            contact_id=case.contact_id,
            parent_instance_id=case.id,
            started_detail={"case_instance_id": case.id},
        )
        history.record(
            EventType.DISPUTE_RAISED, instance_id=case.id, actor=user, detail={"dispute_instance_id": dispute.id}
        )
    return dispute


def for_case(case_id: int) -> list[ProcessInstance]:
    return list(
        db.session.execute(
            select(ProcessInstance)
            .where(ProcessInstance.parent_instance_id == case_id, ProcessInstance.process_id == ProcessId.ESCALATION)
            .order_by(ProcessInstance.id)
        ).scalars()
    )


def review_list(user: User) -> list[dict]:
    """Every dispute for the service manager's monthly review: level reached, time taken, resolution."""
    if not user.roles & REVIEW_ROLES:
        raise Forbidden("The dispute review is for service managers, strategic managers and auditors")
    rows = db.session.execute(
        select(ProcessInstance)
        .where(ProcessInstance.process_id == ProcessId.ESCALATION)
        .order_by(ProcessInstance.created_at.desc())
    ).scalars()
    result = []
    for dispute in rows:
        data = dispute.case_data or {}
        end = dispute.ended_at or CLOCK.now()
        result.append(
            {
                "id": dispute.id,
                "case_instance_id": dispute.parent_instance_id,
                "raised_by": data.get("raised_by"),
                "raised_at": data.get("raised_at"),
                "disputed_decision": data.get("disputed_decision"),
                "level": data.get("resolved_level") or data.get("level"),
                "status": dispute.status,
                "resolution": data.get("resolution"),
                "hours_taken": round((end - dispute.created_at).total_seconds() / 3600, 1),
            }
        )
    return result
