"""overdue_alerts: one row per ready user task with a due time, so the host starts its overdue review once

Revision ID: 20261206_16
Revises: 20261206_10
Create Date: 2026-12-06 08:40:00

Hand-written (issue 16, one overdue pattern). The diagram's "Work overdue" event sub-process is started by the
host when a task passes its due time: the sweep claims a row (FOR UPDATE SKIP LOCKED, like `timers`), sends the
message and marks the row sent in the same transaction as the review task. One row per task instance.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261206_16"
down_revision = "20261206_10"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "overdue_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("bpmn_id", sa.String(length=100), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instances.id"], name=op.f("fk_overdue_alerts_instance_id_process_instances")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overdue_alerts")),
        sa.UniqueConstraint("instance_id", "task_id", name="uq_overdue_alerts_instance_task"),
    )
    with op.batch_alter_table("overdue_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_overdue_alerts_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index("ix_overdue_alerts_state_due", ["state", "due_at"], unique=False)


def downgrade():
    with op.batch_alter_table("overdue_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_overdue_alerts_state_due")
        batch_op.drop_index(batch_op.f("ix_overdue_alerts_instance_id"))
    op.drop_table("overdue_alerts")
