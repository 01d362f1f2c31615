"""SQLite keeps no query-planner statistics unless ANALYZE runs: the scheduler refreshes them every hour (issue 17,
flat from 100 to 100 000 cases), bounded to about a thousand rows per index."""

from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from app.services.core import planner_statistics
from tests.support.flow import Flow


def test_the_refresh_gives_sqlite_statistics_for_the_inbox_indexes(client):
    Flow(client)  # a case with its tasks: rows to sample
    ran = planner_statistics.refresh()
    if db.engine.dialect.name != "sqlite":
        assert ran is False  # PostgreSQL's autovacuum keeps its own
        return
    assert ran is True
    indexes = {row[0] for row in db.session.execute(text("SELECT idx FROM sqlite_stat1 WHERE tbl = 'tasks'"))}
    assert {"ix_tasks_instance_state", "ix_tasks_ready_order"} <= indexes
