"""The query planner's statistics on SQLite, refreshed by the scheduler (issue 17: flat from 100 to 100 000 cases).

Why: SQLite plans without statistics until ANALYZE has run, and nothing runs it by itself (PostgreSQL's
autovacuum does). Without them, one case's ready tasks for a busy role (`GET /api/v1/tasks?instance_id=…`, the
inbox of one case) were read through the role's due-order index, scanning every ready task of that role:
~265 ms at 100 000 cases instead of ~3 ms through the case's own index. `analysis_limit` bounds the work to
about a thousand rows per index, so a refresh takes milliseconds whatever the database's size.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from app.extensions import db
from app.services.core.transaction import unit_of_work

ROWS_PER_INDEX = 1000


def refresh() -> bool:
    """Refresh the planner's statistics where the database keeps none by itself (SQLite); True if it ran."""
    if db.engine.dialect.name != "sqlite":
        return False  # PostgreSQL: autovacuum's ANALYZE keeps them
    with unit_of_work():  # a write transaction like any other (it waits its turn behind the others)
        analyze(db.session.connection())
    return True


def analyze(conn: Connection) -> None:
    """The bounded ANALYZE itself, on a SQLite connection (also the bench's bulk fill, which has no app)."""
    conn.execute(text(f"PRAGMA analysis_limit={ROWS_PER_INDEX}"))
    conn.execute(text("ANALYZE"))
