"""Deployments: immutable versions of the model set. File contents are stored once per hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.types import UtcDateTime, utcnow


class ModelFile(Model):
    __tablename__ = "model_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Deployment(Model):
    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    bundle_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(500))
    files: Mapped[list[DeploymentFile]] = relationship(lazy="selectin", order_by="DeploymentFile.path")


class DeploymentFile(Model):
    __tablename__ = "deployment_files"
    __table_args__ = (UniqueConstraint("deployment_id", "path"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    path: Mapped[str] = mapped_column(String(300))
    model_file_id: Mapped[int] = mapped_column(ForeignKey("model_files.id"))
    model_file: Mapped[ModelFile] = relationship(lazy="joined")
