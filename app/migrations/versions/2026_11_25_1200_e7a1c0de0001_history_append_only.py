"""history is append-only: triggers refuse UPDATE/DELETE; a trigger-kept anchor per chain

Revision ID: e7a1c0de0001
Revises: 83bc1589b526
Create Date: 2026-11-25 12:00:00

On PostgreSQL and SQLite the application's connection cannot change or remove a history row
(nor truncate the table on PostgreSQL). Every insert also updates `history_heads`, one row per
hash chain (the instance id; 0 for events without an instance): entries, sum of ids, newest
entry. Those rows may only move forward one entry at a time. `mash audit verify` uses them to
see a deleted entry, the newest of an instance included.

A DBA who must erase history (retention) does it outside the application: on PostgreSQL as a
superuser with `SET LOCAL session_replication_role = replica`; on SQLite by dropping the
triggers. Either leaves the chains to be re-verified.
"""

import sqlalchemy as sa
from alembic import op

revision = "e7a1c0de0001"
down_revision = "83bc1589b526"
branch_labels = None
depends_on = None

REFUSED = "history is append-only"

SQLITE_UP = [
    f"""CREATE TRIGGER history_events_no_update BEFORE UPDATE ON history_events
        BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END""",
    f"""CREATE TRIGGER history_events_no_delete BEFORE DELETE ON history_events
        BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END""",
    """CREATE TRIGGER history_events_anchor AFTER INSERT ON history_events
        BEGIN
          INSERT INTO history_heads (chain, entries, id_sum, head_id, head_hash, head_type)
          VALUES (COALESCE(NEW.instance_id, 0), 1, NEW.id, NEW.id, NEW.hash, NEW.type)
          ON CONFLICT (chain) DO UPDATE SET entries = entries + 1, id_sum = id_sum + excluded.id_sum,
            head_id = excluded.head_id, head_hash = excluded.head_hash, head_type = excluded.head_type;
        END""",
    f"""CREATE TRIGGER history_heads_forward BEFORE UPDATE ON history_heads
        WHEN NEW.chain <> OLD.chain OR NEW.entries <> OLD.entries + 1 OR NEW.head_id <= OLD.head_id
        BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END""",
    f"""CREATE TRIGGER history_heads_no_delete BEFORE DELETE ON history_heads
        BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END""",
]
SQLITE_DOWN = [
    "history_heads_no_delete",
    "history_heads_forward",
    "history_events_anchor",
    "history_events_no_delete",
    "history_events_no_update",
]

POSTGRES_UP = [
    f"""CREATE FUNCTION history_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '{REFUSED}: % on % refused', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END $$""",
    """CREATE FUNCTION history_anchor() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO history_heads (chain, entries, id_sum, head_id, head_hash, head_type)
          VALUES (COALESCE(NEW.instance_id, 0), 1, NEW.id, NEW.id, NEW.hash, NEW.type)
          ON CONFLICT (chain) DO UPDATE SET entries = history_heads.entries + 1,
            id_sum = history_heads.id_sum + EXCLUDED.id_sum, head_id = EXCLUDED.head_id,
            head_hash = EXCLUDED.head_hash, head_type = EXCLUDED.head_type;
          RETURN NULL;
        END $$""",
    f"""CREATE FUNCTION history_heads_forward() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.chain <> OLD.chain OR NEW.entries <> OLD.entries + 1 OR NEW.head_id <= OLD.head_id THEN
            RAISE EXCEPTION '{REFUSED}: history_heads only moves forward' USING ERRCODE = 'insufficient_privilege';
          END IF;
          RETURN NEW;
        END $$""",
    """CREATE TRIGGER history_events_no_change BEFORE UPDATE OR DELETE ON history_events
        FOR EACH ROW EXECUTE FUNCTION history_refuse_change()""",
    """CREATE TRIGGER history_events_no_truncate BEFORE TRUNCATE ON history_events
        FOR EACH STATEMENT EXECUTE FUNCTION history_refuse_change()""",
    """CREATE TRIGGER history_events_anchor AFTER INSERT ON history_events
        FOR EACH ROW EXECUTE FUNCTION history_anchor()""",
    """CREATE TRIGGER history_heads_forward BEFORE UPDATE ON history_heads
        FOR EACH ROW EXECUTE FUNCTION history_heads_forward()""",
    """CREATE TRIGGER history_heads_no_delete BEFORE DELETE ON history_heads
        FOR EACH ROW EXECUTE FUNCTION history_refuse_change()""",
    """CREATE TRIGGER history_heads_no_truncate BEFORE TRUNCATE ON history_heads
        FOR EACH STATEMENT EXECUTE FUNCTION history_refuse_change()""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS history_heads_no_truncate ON history_heads",
    "DROP TRIGGER IF EXISTS history_heads_no_delete ON history_heads",
    "DROP TRIGGER IF EXISTS history_heads_forward ON history_heads",
    "DROP TRIGGER IF EXISTS history_events_anchor ON history_events",
    "DROP TRIGGER IF EXISTS history_events_no_truncate ON history_events",
    "DROP TRIGGER IF EXISTS history_events_no_change ON history_events",
    "DROP FUNCTION IF EXISTS history_heads_forward()",
    "DROP FUNCTION IF EXISTS history_anchor()",
    "DROP FUNCTION IF EXISTS history_refuse_change()",
]

# Anchors for the history already there (one row per chain, newest entry by id).
BACKFILL = """
INSERT INTO history_heads (chain, entries, id_sum, head_id, head_hash, head_type)
SELECT g.chain, g.entries, g.id_sum, g.head_id, h.hash, h.type
FROM (SELECT COALESCE(instance_id, 0) AS chain, COUNT(*) AS entries, SUM(id) AS id_sum, MAX(id) AS head_id
      FROM history_events GROUP BY COALESCE(instance_id, 0)) AS g
JOIN history_events AS h ON h.id = g.head_id
"""


def upgrade():
    op.create_table(
        "history_heads",
        sa.Column("chain", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("id_sum", sa.BigInteger(), nullable=False),
        sa.Column("head_id", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("head_type", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_history_heads")),
    )
    op.execute(BACKFILL)
    statements = POSTGRES_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_DOWN:
            op.execute(statement)
    else:
        for name in SQLITE_DOWN:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("history_heads")
