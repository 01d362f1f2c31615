"""Contacts, process instances (serialized engine state, optimistic lock) and the task projection."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import UtcDateTime, utcnow


class Contact(Model):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    channel: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProcessInstance(Model):
    __tablename__ = "process_instances"
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(100))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    parent_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    state: Mapped[str] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(default=1)
    case_data: Mapped[dict] = mapped_column(JSON, default=dict)
    rag: Mapped[str | None] = mapped_column(String(10))
    outcome: Mapped[str | None] = mapped_column(String(60))
    outcome_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_timer_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __mapper_args__ = {"version_id_col": lock_version}


class TaskRecord(Model):
    """Inbox projection of the engine's user tasks, written in the same transaction as the state."""

    __tablename__ = "tasks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(60))
    agency: Mapped[str | None] = mapped_column(String(40))
    team: Mapped[str | None] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    rag: Mapped[str | None] = mapped_column(String(10))
    form: Mapped[str | None] = mapped_column(String(200))
    exclude_actors_of: Mapped[list | None] = mapped_column(JSON)
    form_data: Mapped[dict | None] = mapped_column(JSON)  # the task's own values for its form (its agency's answer)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        Index("ix_tasks_role_state_due", "role", "state", "due_at"),
        Index("ix_tasks_instance_state", "instance_id", "state"),
    )


class TimerRecord(Model):
    """A waiting BPMN timer, written with the instance state so the scheduler can fire it exactly once."""

    __tablename__ = "timers"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(10), default="waiting")  # waiting | fired | cancelled
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_timers_state_due", "state", "due_at"),)


class OverdueRecord(Model):
    """A ready user task's due time, watched so the host starts the diagram's overdue review exactly once.

    Written with the instance state by every run (app/services/core/overdue.py); the sweep claims a due row like a
    timer row and sends the process its `task_overdue` message in the transaction that creates the review."""

    __tablename__ = "overdue_alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))  # the late user task (its engine id)
    bpmn_id: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(10), default="waiting")  # waiting | sent | cancelled | failed
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_overdue_alerts_state_due", "state", "due_at"),
        UniqueConstraint("instance_id", "task_id", name="uq_overdue_alerts_instance_task"),
    )


class ClosureDay(Model):
    """A day the MASH is closed beyond weekends and bank holidays (added by an administrator)."""

    __tablename__ = "closure_days"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
