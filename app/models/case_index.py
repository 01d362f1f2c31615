"""The case index: children known to social care / early help and the contacts about them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import UtcDateTime, utcnow


class IndexChild(Model):
    __tablename__ = "index_children"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(60), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    name_folded: Mapped[str] = mapped_column(String(200))
    surname_codes: Mapped[str] = mapped_column(String(40))
    date_of_birth: Mapped[date | None] = mapped_column(Date, index=True)
    gender: Mapped[str | None] = mapped_column(String(20))
    social_care_status: Mapped[str] = mapped_column(String(10), default="none")  # open | closed | none
    allocated_worker: Mapped[str | None] = mapped_column(String(200))
    allocated_team: Mapped[str | None] = mapped_column(String(60))
    early_help_open: Mapped[bool] = mapped_column(default=False)
    lead_professional: Mapped[str | None] = mapped_column(String(200))
    closed_on: Mapped[date | None] = mapped_column(Date)
    closing_team: Mapped[str | None] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(20), default="case_system")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class IndexContact(Model):
    __tablename__ = "index_contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("index_children.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    outcome: Mapped[str | None] = mapped_column(String(60))
    rag: Mapped[str | None] = mapped_column(String(10))
