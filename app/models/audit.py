"""Tamper evidence for the history: one anchor row per hash chain, written by a database trigger.

The database (not the application) keeps, per chain (an instance's events; chain 0 holds the
events without an instance), how many entries were appended, the sum of their ids and the newest
entry. `mash audit verify` compares the rows with their anchor, so deleting any entry — the newest
of an instance included — shows. The application never writes this table; the triggers in
migration e7a1c0de0001 do, and refuse any change that does not append.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model


class HistoryHead(Model):
    __tablename__ = "history_heads"
    chain: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # instance id, 0 = none
    entries: Mapped[int] = mapped_column(Integer)
    id_sum: Mapped[int] = mapped_column(BigInteger)
    head_id: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    head_type: Mapped[str] = mapped_column(String(40))
