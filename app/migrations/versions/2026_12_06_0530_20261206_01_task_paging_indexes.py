"""indexes for paged task lists and for finding the lists that showed a case

Revision ID: 20261206_01
Revises: e6c3c0de0003
Create Date: 2026-12-06 05:30:00

Hand-written. Task lists (GET /api/v1/tasks, the inbox) count and page the ready tasks of a role in
SQL, ordered by (due_at IS NULL, due_at, created_at, id): one index in that order lets a page be
read from the index without sorting the whole inbox; it also covers team/agency (access
filtering) and the inbox's view and filters (claimed_by, rag, bpmn_id), so totals are counted
from the index alone. A second index in (bpmn_id, title) order gives the inbox's task-type menu
with counts (and the unfiltered total) in one streaming pass, without a sort. On PostgreSQL a partial GIN index finds the
`list_viewed` events that named a case (its timeline), without reading every list ever shown.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261206_01"
down_revision = "e6c3c0de0003"
branch_labels = None
depends_on = None

TASK_ORDER = "ix_tasks_ready_order"
TASK_TYPES = "ix_tasks_ready_types"
LISTS = "ix_history_list_viewed_instances"


def upgrade():
    op.create_index(
        TASK_ORDER,
        "tasks",
        [
            "role",
            "state",
            sa.text("(due_at IS NULL)"),
            "due_at",
            "created_at",
            "id",
            "team",
            "agency",
            "claimed_by",
            "rag",
            "bpmn_id",
        ],
    )
    op.create_index(TASK_TYPES, "tasks", ["role", "state", "bpmn_id", "title", "team", "agency"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE INDEX {LISTS} ON history_events USING gin (((detail::jsonb) -> 'instances')) "
            "WHERE type = 'list_viewed'"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {LISTS}")
    op.drop_index(TASK_TYPES, table_name="tasks")
    op.drop_index(TASK_ORDER, table_name="tasks")
