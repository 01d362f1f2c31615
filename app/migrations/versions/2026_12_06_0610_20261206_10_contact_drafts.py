"""contact_drafts: a contact being recorded in the browser, between its question pages

Revision ID: 20261206_10
Revises: 20261206_02
Create Date: 2026-12-06 06:10:00

Hand-written (issue 14, Record a contact). One row per contact being recorded, tied to the web
session that started it (deleted with it), deleted when the contact is recorded.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261206_10"
down_revision = "20261206_02"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "contact_drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("web_session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["web_session_id"],
            ["web_sessions.id"],
            name=op.f("fk_contact_drafts_web_session_id_web_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_contact_drafts_user_id_users"), ondelete="CASCADE"
        ),
    )
    op.create_index("ix_contact_drafts_web_session_id", "contact_drafts", ["web_session_id"])


def downgrade():
    op.drop_index("ix_contact_drafts_web_session_id", table_name="contact_drafts")
    op.drop_table("contact_drafts")
