"""Break-glass: a MASH-internal user outside a case's need-to-know opens it by giving a reason.

Copied from the NHS Summary Care Record's emergency access (reference/security.md §2): the
reason is required, the access lasts a few minutes (MASH_BREAK_GLASS_MINUTES, default 30), it is
recorded in the case's history, and a service manager (not the same person) reviews it and
records whether it was appropriate. Partners and receiving teams never get it: break-glass only
widens which users inside the MASH firewall may open a case, and what they then see follows the
firewall rules as before (access.visible_data).

Grants and reviews are history events (append-only, hash-chained), not a table of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import HistoryEvent, ProcessInstance, User
from app.services.access import access, permissions
from app.services.core import history
from app.services.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.core.events import EventType
from app.services.core.transaction import unit_of_work

OPENED = EventType.BREAK_GLASS_OPENED
REVIEWED = EventType.BREAK_GLASS_REVIEWED
REVIEWER_ROLES = permissions.roles_for("break_glass.review")
OUTCOMES: dict[Any, str] = {"appropriate": "Appropriate", "not_appropriate": "Not appropriate"}
REASON_MAX = 1000


@dataclass
class Grant:
    event_id: int
    instance_id: int
    user: str
    roles: list[str]
    reason: str
    opened_at: datetime
    expires_at: datetime
    review: dict | None = None
    views: list[dict] | None = None

    @property
    def active(self) -> bool:
        return CLOCK.now() < self.expires_at


def _grant(event: HistoryEvent) -> Grant:
    detail = event.detail or {}
    if event.instance_id is None or event.actor is None:
        raise ValueError(f"history event {event.id} is not a break-glass access to a case")
    return Grant(
        event_id=event.id,
        instance_id=event.instance_id,
        user=event.actor,
        roles=detail.get("roles") or [],
        reason=detail.get("reason", ""),
        opened_at=event.at,
        expires_at=datetime.fromisoformat(detail["expires_at"]),
    )


lock_chain = history.lock_chain  # one lock for every writer of a case's history


def active_grant(user: User, instance_id: int) -> Grant | None:
    """The user's unexpired break-glass access to this case, if any."""
    latest = db.session.execute(
        select(HistoryEvent)
        .where(HistoryEvent.instance_id == instance_id, HistoryEvent.type == OPENED, HistoryEvent.actor_id == user.id)
        .order_by(HistoryEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None:
        return None
    grant = _grant(latest)
    return grant if grant.active else None


def may_break_glass(user: User) -> bool:
    """Only users inside the MASH firewall; auditors read everything already."""
    return bool(user.roles & access.MASH_ROLES)


@access.also_may_view
def has_active_grant(user: User, instance: ProcessInstance) -> bool:
    """access.may_view's other way in: a MASH-internal user's time-boxed break-glass grant on the case."""
    return may_break_glass(user) and active_grant(user, instance.id) is not None


def status(user: User, instance_id: int) -> str:
    """'need_to_know' (open it), 'may_break_glass' (ask for the reason) or 'no' (404 for the user)."""
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        return "no"
    if access.need_to_know(user, instance) or active_grant(user, instance_id) is not None:
        return "need_to_know"
    return "may_break_glass" if may_break_glass(user) else "no"


def open_case(user: User, instance_id: int, reason: str, minutes: int | None = None) -> Grant | None:
    """Record the reason and open the case for `minutes`. None when the user needs no break-glass."""
    state = status(user, instance_id)
    if state == "need_to_know":
        return None
    if state == "no":
        if db.session.get(ProcessInstance, instance_id) is not None:
            permissions.deny(user, "break_glass", instance_id=instance_id, status=404, message="No such case")
        raise NotFound("No such case")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise Invalid({"reason": ["Give the reason you need to open this case (at least 10 characters)"]})
    if len(reason) > REASON_MAX:
        raise Invalid({"reason": [f"The reason must be {REASON_MAX} characters or fewer"]})
    minutes = minutes or current_app.config["BREAK_GLASS_MINUTES"]
    expires_at = CLOCK.now() + timedelta(minutes=minutes)
    with unit_of_work():
        lock_chain(instance_id)
        event = history.record(
            OPENED,
            instance_id=instance_id,
            actor=user,
            detail={
                "reason": reason,
                "minutes": minutes,
                "expires_at": expires_at.isoformat(),
                "roles": sorted(user.roles),
            },
        )
        db.session.flush()
        grant = _grant(event)
    return grant


def _require_reviewer(user: User) -> None:
    if not user.roles & REVIEWER_ROLES:
        raise Forbidden("Emergency access is reviewed by the service manager")


def _reviews() -> dict[Any, HistoryEvent]:  # by opened_event_id
    rows = db.session.execute(select(HistoryEvent).where(HistoryEvent.type == REVIEWED)).scalars()
    return {(e.detail or {}).get("opened_event_id"): e for e in rows}


def _review_of(event: HistoryEvent | None) -> dict | None:
    if event is None:
        return None
    detail = event.detail or {}
    return {
        "by": event.actor,
        "at": event.at,
        "outcome": detail.get("outcome"),
        "outcome_text": OUTCOMES.get(detail.get("outcome"), detail.get("outcome")),
        "note": detail.get("note"),
    }


def review_list(user: User) -> dict[str, list[Grant]]:
    """Every break-glass access: those waiting for review first (oldest first), then the reviewed."""
    _require_reviewer(user)
    reviews = _reviews()
    opened = db.session.execute(
        select(HistoryEvent).where(HistoryEvent.type == OPENED).order_by(HistoryEvent.id)
    ).scalars()
    waiting: list[Grant] = []
    done: list[Grant] = []
    for event in opened:
        grant = _grant(event)
        grant.review = _review_of(reviews.get(event.id))
        (done if grant.review else waiting).append(grant)
    return {"waiting": waiting, "reviewed": list(reversed(done))}


def get_for_review(user: User, event_id: int) -> Grant:
    """One access with the views made under it (routes and times only, no case content)."""
    _require_reviewer(user)
    event = db.session.get(HistoryEvent, event_id)
    if event is None or event.type != OPENED:
        raise NotFound("No such emergency access")
    grant = _grant(event)
    grant.review = _review_of(_reviews().get(event.id))
    grant.views = [
        {"at": e.at, "route": (e.detail or {}).get("route"), "task_id": e.task_id}
        for e in history.for_instance(grant.instance_id)
        if e.type == EventType.VIEWED and (e.detail or {}).get("break_glass") == event.id
    ]
    return grant


def review(user: User, event_id: int, outcome: str, note: str) -> Grant:
    """The service manager's finding, recorded on the case's history (four eyes: not one's own access)."""
    grant = get_for_review(user, event_id)
    errors = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = ["Select whether the access was appropriate"]
    note = (note or "").strip()
    if outcome == "not_appropriate" and not note:
        errors["note"] = ["Say why the access was not appropriate and what happens next"]
    if len(note) > REASON_MAX:
        errors["note"] = [f"The note must be {REASON_MAX} characters or fewer"]
    if errors:
        raise Invalid(errors)
    if grant.user == user.username:
        raise Forbidden("Another service manager must review your own emergency access")
    with unit_of_work():
        lock_chain(grant.instance_id)
        if event_id in _reviews():
            raise Conflict("Someone has already reviewed this emergency access")
        history.record(
            REVIEWED,
            instance_id=grant.instance_id,
            actor=user,
            detail={"opened_event_id": event_id, "user": grant.user, "outcome": outcome, "note": note or None},
        )
    return get_for_review(user, event_id)
