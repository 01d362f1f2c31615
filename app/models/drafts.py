"""Drafts: a service manager's working copy of the model set, reviewed before it is published.

File contents are stored once per hash in `model_files` (shared with deployments). A draft's
`lock_version` is SQLAlchemy's version counter: every save bumps it, and a save that names an
older version is refused (two managers editing the same draft get a conflict, not a lost change).
Once published, the draft row is the publication record: publisher (submitter), approver, time,
content hash and the diff summary of the deployed version.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.deployments import ModelFile
from app.models.types import UtcDateTime, utcnow


class Draft(Model):
    __tablename__ = "drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    # editing | awaiting_approval | published | discarded
    status: Mapped[str] = mapped_column(String(20), default="editing", index=True)
    base_version: Mapped[int | None] = mapped_column()
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lock_version: Mapped[int] = mapped_column(default=1)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(String(1000))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    review_note: Mapped[str | None] = mapped_column(String(1000))
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"), index=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    diff: Mapped[list | None] = mapped_column(JSON)
    files: Mapped[list[DraftFile]] = relationship(
        lazy="selectin", order_by="DraftFile.path", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": lock_version}


class DraftFile(Model):
    __tablename__ = "draft_files"
    __table_args__ = (UniqueConstraint("draft_id", "path"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    path: Mapped[str] = mapped_column(String(300))
    model_file_id: Mapped[int] = mapped_column(ForeignKey("model_files.id"))
    model_file: Mapped[ModelFile] = relationship(lazy="joined")


class DraftEvent(Model):
    """What happened to a draft (created, saved, submitted, approved, rejected, discarded), append-only."""

    __tablename__ = "draft_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    type: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
