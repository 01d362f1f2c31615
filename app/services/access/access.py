"""Who may see and do what: role (lane), team and agency checks, and what data a role may read.

Denials are recorded in history by the callers, then answered 403 (or 404 where existence
itself would leak).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select

from app.extensions import db
from app.models import ProcessInstance, TaskRecord, User
from app.services.core.roles import AGENCY_ROLES, MASH_ROLES, READ_ALL_ROLES, TEAM_ROLES

# Rules other modules add, registered when they are imported (app.create_app imports them all): this
# module imports none of them. need-to-know: audit_sampling (task property `relatedCase`); viewing:
# break_glass (a MASH-internal user's time-boxed, reviewed access).
CaseRule = Callable[[User, ProcessInstance], bool]
_need_to_know_rules: list[CaseRule] = []
_view_grants: list[CaseRule] = []


def also_need_to_know(rule: CaseRule) -> CaseRule:
    """Add a need-to-know rule: `rule(user, instance)` True lets the user read the case."""
    if rule not in _need_to_know_rules:
        _need_to_know_rules.append(rule)
    return rule


def also_may_view(grant: CaseRule) -> CaseRule:
    """Add a way to view a case beyond need-to-know (break-glass)."""
    if grant not in _view_grants:
        _view_grants.append(grant)
    return grant


# Case facts every involved role may see (spec §10 "instance (API)").
SUMMARY_KEYS = (
    "contact_id",
    "child",
    "received_at",
    "channel",
    "rag",
    "route",
    "contact_route",
    "outcome",
    "is_referral",
    "decision_due_at",
    "outcome_due_at",
    "receiving_team",
)


def _same_team_and_agency(user: User, task: TaskRecord) -> bool:
    return (task.team is None or task.team == user.team) and (task.agency is None or task.agency == user.agency)


def may_work(user: User, task: TaskRecord) -> bool:
    return task.role in user.roles and _same_team_and_agency(user, task)


def workable(user: User) -> ColumnElement[bool]:
    """`may_work` as a SQL condition, so lists count and page only the tasks the user may work on
    (keep the two in step)."""

    def same(column, value):
        return column.is_(None) if value is None else or_(column.is_(None), column == value)

    return and_(
        TaskRecord.role.in_(sorted(user.roles)), same(TaskRecord.team, user.team), same(TaskRecord.agency, user.agency)
    )


def involved_tasks(user: User, instance_id: int) -> list[TaskRecord]:
    rows = db.session.execute(select(TaskRecord).where(TaskRecord.instance_id == instance_id)).scalars()
    return [t for t in rows if may_work(user, t)]


def partner_only(user: User) -> bool:
    """A partner agency's user (outside the MASH, not a receiving team). The firewall runs both ways
    (spec §11, App. F): a partner sees only its own request while it is open, its own answers ("Our
    answers") and the tasks it works, never a case itself: no case page, steps, diagram, history or
    handover, not even after answering."""
    return bool(user.roles & AGENCY_ROLES) and not user.roles & (MASH_ROLES | READ_ALL_ROLES | TEAM_ROLES)


def need_to_know(user: User, instance: ProcessInstance) -> bool:
    if user.roles & READ_ALL_ROLES:
        return True
    if partner_only(user):
        return False  # a request (open or answered) opens the request, never the case (partner_only)
    if instance.created_by == user.id and user.roles & MASH_ROLES:
        return True
    if involved_tasks(user, instance.id):
        return True
    # e.g. task property `relatedCase`: the manager auditing a sampled case (spec §11.11, audit_sampling)
    return any(rule(user, instance) for rule in _need_to_know_rules)


def may_view(user: User, instance: ProcessInstance) -> bool:
    """Need-to-know, or a MASH-internal user's time-boxed, reviewed break-glass access to the case."""
    if need_to_know(user, instance):
        return True
    return any(grant(user, instance) for grant in _view_grants)  # break-glass (app.services.access.break_glass)


def inside_firewall(user: User) -> bool:
    return bool(user.roles & (MASH_ROLES | READ_ALL_ROLES))


def redact(value: Any, names: frozenset[str]) -> Any:
    """Remove sensitive keys at any depth (answers nested in lists included)."""
    if isinstance(value, dict):
        return {k: redact(v, names) for k, v in value.items() if k not in names}
    if isinstance(value, list):
        return [redact(v, names) for v in value]
    return value


def visible_data(
    user: User, instance: ProcessInstance, form_fields: set[str], sensitive: frozenset[str] = frozenset()
) -> dict:
    """MASH roles read the whole case; others read the summary plus their own forms' fields, and
    never anything marked sensitive."""
    data = instance.case_data or {}
    if inside_firewall(user):
        return dict(data)
    allowed = (set(SUMMARY_KEYS) | form_fields) - sensitive
    return redact({k: v for k, v in data.items() if k in allowed}, sensitive)


# Which manager role oversees work done in which lane.
MANAGER_OF = {
    "masho": "mash_manager",
    "decision_maker": "mash_manager",
    "mash_manager": "mash_manager",
    "business_support": "mash_manager",
    "eh_decision_maker": "eh_manager",
    "eh_manager": "eh_manager",
    "receiving_team": "receiving_team_manager",
    "receiving_team_manager": "receiving_team_manager",
    "partner": "partner_manager",
    "partner_manager": "partner_manager",
}


def may_work_as_manager(user: User, task: TaskRecord) -> bool:
    """A manager may assign or release work in the lanes they manage (and their own team/agency)."""
    return MANAGER_OF.get(task.role or "") in user.roles and _same_team_and_agency(user, task)
