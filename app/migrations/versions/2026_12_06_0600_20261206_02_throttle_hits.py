"""throttle_hits: sign-in and referral limits shared by every worker

Revision ID: 20261206_02
Revises: 20261206_01
Create Date: 2026-12-06 06:00:00

Hand-written. One row per counted attempt (a failed sign-in per account and per client address, an
online referral per client address), keyed by an HMAC of the username or address, so every
gunicorn worker sees the same counts (issue 13).
"""

import sqlalchemy as sa
from alembic import op

revision = "20261206_02"
down_revision = "20261206_01"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "throttle_hits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(length=30), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_throttle_hits_scope_key_at", "throttle_hits", ["scope", "key_hash", "at"])
    op.create_index("ix_throttle_hits_at", "throttle_hits", ["at"])


def downgrade():
    op.drop_index("ix_throttle_hits_at", table_name="throttle_hits")
    op.drop_index("ix_throttle_hits_scope_key_at", table_name="throttle_hits")
    op.drop_table("throttle_hits")
