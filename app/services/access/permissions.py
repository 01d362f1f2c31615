"""Who may do what, in one table: capability → roles (or the object-level rule that decides).

Every API route and every page declares its capability with `requires` (tests/test_permissions_matrix.py
fails naming any route that does not, then checks every route × every role against this table).
Role capabilities are enforced by `requires` itself; rule capabilities ("case.read", "task.work", …)
name the object-level check the services make on the case, task or draft in hand (access.py,
break_glass.py, handover.py, …), so the declaration says which rule answers, and the service keeps
answering it. `deny` is the one way to refuse: it records `access_denied` in history (in its own unit
of work, so the refusal is kept whatever happens next) and raises 403 (or 404 where existence itself
would leak).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g, request

from app.services.core import history
from app.services.core.errors import Forbidden, NotFound
from app.services.core.events import EventType
from app.services.core.roles import AGENCY_ROLES, MASH_ROLES, READ_ALL_ROLES, ROLES
from app.services.core.transaction import unit_of_work

EVERYONE = frozenset(ROLES)
# "public" is open to anonymous callers too; "signed_in" to every role once signed in.
PUBLIC = "public"
SIGNED_IN = "signed_in"

CAPABILITIES: dict[str, frozenset[str]] = {
    PUBLIC: EVERYONE,
    SIGNED_IN: EVERYONE,
    # --- role capabilities (enforced by `requires`) ---
    "closure_days.manage": frozenset({"admin", "service_manager"}),
    "deployments.read": frozenset({"service_manager", "auditor", "admin"}),
    "models.edit": frozenset({"service_manager"}),  # drafts, validation, approval (two-person rule in drafts.py)
    "migration.run": frozenset({"service_manager"}),
    "oversight.view": frozenset(
        {"mash_manager", "service_manager", "strategic_manager", "assistant_director", "auditor"}
    ),
    "disputes.review": frozenset({"service_manager", "strategic_manager", "assistant_director", "auditor"}),
    "break_glass.review": frozenset({"service_manager"}),
    "contacts.start": frozenset({"masho"}),
    # find a case: MASH staff (to break the glass) and whoever reads case histories; answered by
    # find_case.may_find (a 404 page, so it is listed in RULES and not enforced by `requires`)
    "case.find": MASH_ROLES | READ_ALL_ROLES,
    # --- role sets used inside object-level rules ---
    "disputes.raise": frozenset(
        {
            "mash_manager",
            "eh_manager",
            "receiving_team_manager",
            "partner_manager",
            "partner",
            "receiving_team",
            "decision_maker",
            "eh_decision_maker",
            "masho",
        }
    ),
    "tasks.assign": frozenset({"mash_manager", "eh_manager", "receiving_team_manager", "partner_manager"}),
    "audit.timeline": frozenset(
        {"auditor", "mash_manager", "service_manager", "strategic_manager", "assistant_director"}
    ),
    # --- rule capabilities: the roles that may ever pass; the service decides on the object ---
    "case.read": EVERYONE - AGENCY_ROLES,  # need-to-know or break-glass (access.may_view); partners never
    "case.break_glass": MASH_ROLES,  # MASH staff without need-to-know (break_glass.may_break_glass)
    "case.timeline": EVERYONE - AGENCY_ROLES,  # audit.timeline roles, or need-to-know (audit.timeline)
    "case.handover": EVERYONE - AGENCY_ROLES,  # need-to-know, or the receiving team (handover.may_receive)
    "case.dispute": EVERYONE,  # disputes.raise roles, on a case they work on (disputes.raise_dispute)
    "task.work": EVERYONE,  # access.may_work: the task's role, team and agency
    "task.read": EVERYONE,  # access.may_work, or a manager of the task's lane (the form, the message)
    "task.assign": frozenset({"mash_manager", "eh_manager", "receiving_team_manager", "partner_manager"}),  # the lane's
    # manager (worklist.assign)
    "task.release": EVERYONE,  # the claimant, or a manager of the lane (worklist.release)
    "agency.answer": AGENCY_ROLES,  # the partner that answered (agency_answers)
    "process.start": EVERYONE,  # the process's own starter lanes (processes.start)
    "draft.own": EVERYONE,  # the contact draft's author (record_contact)
}
RULES = frozenset(
    {
        "case.find",
        "case.read",
        "case.break_glass",
        "case.timeline",
        "case.handover",
        "case.dispute",
        "task.work",
        "task.read",
        "task.assign",
        "task.release",
        "agency.answer",
        "process.start",
        "draft.own",
    }
)


def roles_for(capability: str) -> frozenset[str]:
    return CAPABILITIES[capability]


def allows(user: Any, capability: str) -> bool:
    """May this user (None when anonymous) ever use this capability? Rule capabilities are then
    decided on the object by the service."""
    if capability == PUBLIC:
        return True
    if user is None:
        return False
    return bool(set(user.roles) & CAPABILITIES[capability])


def deny(
    user: Any,
    action: str,
    *,
    instance_id: int | None = None,
    status: int = 403,
    message: str | None = None,
    **detail: Any,
):
    """Record `access_denied` (its own unit of work) and raise Forbidden (403) or NotFound (404)."""
    with unit_of_work():
        history.record(
            EventType.ACCESS_DENIED, instance_id=instance_id, actor=user, detail={"action": action, **detail}
        )
    if status == 404:
        raise NotFound(message or "Not found")
    raise Forbidden(message or "You do not have permission to do this")


def _current_user() -> Any:
    """The API's bearer-token user (g.user) or the page's signed-in user (g.current_user): each is set
    afresh by its own layer for each request, so read the one that belongs to this request."""
    return g.get("user") if request.path.startswith("/api/") else g.get("current_user")


def requires(capability: str, *, message: str | None = None) -> Callable:
    """Declare a route's capability (`view.capability`) and, for role capabilities, enforce it: a user
    without one of the roles is refused with `deny` (403). Put it under the sign-in decorator."""
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown capability {capability!r}: add it to permissions.CAPABILITIES")
    enforced = capability not in RULES and capability not in (PUBLIC, SIGNED_IN)

    def decorate(view: Callable) -> Callable:
        if not enforced:
            view.capability = capability  # type: ignore[attr-defined]
            return view

        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = _current_user()
            if not allows(user, capability):
                deny(user, capability, message=message)
            return view(*args, **kwargs)

        wrapper.capability = capability  # type: ignore[attr-defined]
        return wrapper

    return decorate


# Routes the frameworks add: Flask's static files and flask-smorest's OpenAPI document.
FRAMEWORK_ROUTES = {"static": PUBLIC, "api-docs.openapi_json": PUBLIC}


def capability_of(view: Callable | None, endpoint: str | None = None) -> str | None:
    """The capability a view declares (through any decorators), or the framework route's."""
    if endpoint in FRAMEWORK_ROUTES:
        return FRAMEWORK_ROUTES[endpoint]
    while view is not None:
        found = getattr(view, "capability", None)
        if found:
            return found
        view = getattr(view, "__wrapped__", None)
    return None
