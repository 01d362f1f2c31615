"""Closure days (administrators) and the deadline calculator (service managers checking a rule)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import ClosureDay, User
from app.services.core import engine_host, history
from app.services.core.errors import Invalid, NotFound
from app.services.core.events import EventType
from app.services.core.transaction import unit_of_work


def closures() -> list[ClosureDay]:
    return list(db.session.execute(select(ClosureDay).order_by(ClosureDay.day)).scalars())


def add_closure(day: date, reason: str, *, actor: User | None = None, actor_name: str = "cli") -> ClosureDay:
    if not reason.strip():
        raise Invalid({"reason": ["Say why the MASH is closed that day"]})
    if db.session.execute(select(ClosureDay).where(ClosureDay.day == day)).scalar_one_or_none():
        raise Invalid({"day": [f"{day.isoformat()} is already a closure day"]})
    with unit_of_work():
        row = ClosureDay(
            day=day, reason=reason.strip(), created_by=actor.username if actor else actor_name, created_at=CLOCK.now()
        )
        db.session.add(row)
        history.record(EventType.CLOSURE_DAY_ADDED, actor=actor, detail={"day": day.isoformat(), "reason": row.reason})
    engine_host.calendar_changed()
    return row


def remove_closure(day: date, *, actor: User | None = None) -> None:
    row = db.session.execute(select(ClosureDay).where(ClosureDay.day == day)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"{day.isoformat()} is not a closure day")
    with unit_of_work():
        db.session.delete(row)
        history.record(EventType.CLOSURE_DAY_REMOVED, actor=actor, detail={"day": day.isoformat()})
    engine_host.calendar_changed()


def deadline(start: datetime, duration: str, calendar: str) -> datetime:
    """The same calculation the models use (`deadline(start, duration, calendar)`)."""
    if start.tzinfo is None:
        raise Invalid({"from": ["Give the start with a UTC offset, for example 2026-11-24T16:30:00+00:00"]})
    if calendar not in ("working", "elapsed"):
        raise Invalid({"calendar": ["Calendar must be working or elapsed"]})
    try:
        value = engine_host.evaluator().evaluate(
            "deadline(start, duration, calendar)",
            {"start": start.isoformat(), "duration": duration, "calendar": calendar},
        )
    except Exception as err:  # the evaluator explains a bad duration
        raise Invalid({"duration": [str(err)]}) from None
    return datetime.fromisoformat(value)
