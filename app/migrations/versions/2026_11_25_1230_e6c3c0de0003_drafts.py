"""drafts of the model set: files, review and publication record

Revision ID: e6c3c0de0003
Revises: e7a1c0de0001
Create Date: 2026-11-25 12:30:00

Hand-written.
"""

import sqlalchemy as sa
from alembic import op

revision = "e6c3c0de0003"
down_revision = "e7a1c0de0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("submitted_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("reviewed_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.String(length=1000), nullable=True),
        sa.Column("deployment_id", sa.Integer(), sa.ForeignKey("deployments.id"), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("diff", sa.JSON(), nullable=True),
    )
    op.create_index("ix_drafts_status", "drafts", ["status"])
    op.create_index("ix_drafts_deployment_id", "drafts", ["deployment_id"])
    op.create_table(
        "draft_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("draft_id", sa.Integer(), sa.ForeignKey("drafts.id"), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("model_file_id", sa.Integer(), sa.ForeignKey("model_files.id"), nullable=False),
        sa.UniqueConstraint("draft_id", "path", name="uq_draft_files_draft_id_path"),
    )
    op.create_index("ix_draft_files_draft_id", "draft_files", ["draft_id"])
    op.create_table(
        "draft_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("draft_id", sa.Integer(), sa.ForeignKey("drafts.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_draft_events_draft_id", "draft_events", ["draft_id"])


def downgrade():
    op.drop_index("ix_draft_events_draft_id", table_name="draft_events")
    op.drop_table("draft_events")
    op.drop_index("ix_draft_files_draft_id", table_name="draft_files")
    op.drop_table("draft_files")
    op.drop_index("ix_drafts_deployment_id", table_name="drafts")
    op.drop_index("ix_drafts_status", table_name="drafts")
    op.drop_table("drafts")
