"""Tamper evidence: the application cannot change or remove history; `mash audit verify` names the
first broken entry after a DBA (the test superuser, triggers off) edits or deletes a row."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.cli import main
from app.extensions import db
from app.services.audit import audit
from tests.support.flow import Flow


def _verify(app):
    db.session.remove()
    return CliRunner().invoke(main, ["audit", "verify"], obj=ScriptInfo(create_app=lambda: app))


@contextmanager
def _as_dba():
    """What only a database administrator can do: switch the append-only triggers off for one transaction."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
        yield
    else:
        guards = db.session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
        for name, _ in guards:
            db.session.execute(text(f'DROP TRIGGER "{name}"'))
        yield
        for _, sql in guards:
            db.session.connection().exec_driver_sql(sql)
    db.session.commit()


def _case(client) -> Flow:
    flow = Flow(client)
    flow.intake()
    return flow


def _events(instance_id):
    return db.session.execute(
        text("SELECT id, type FROM history_events WHERE instance_id = :i ORDER BY id"), {"i": instance_id}
    ).all()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE history_events SET actor = 'mallory' WHERE id = (SELECT MIN(id) FROM history_events)",
        "DELETE FROM history_events WHERE id = (SELECT MAX(id) FROM history_events)",
        "UPDATE history_heads SET entries = entries - 1",
        "DELETE FROM history_heads",
    ],
)
def test_the_application_cannot_change_or_remove_history(client, statement):
    _case(client)
    before = db.session.execute(text("SELECT COUNT(*), MIN(actor) FROM history_events")).one()
    with pytest.raises(DBAPIError) as refused:  # noqa: PT012 - PostgreSQL refuses at execute, SQLite at flush
        db.session.execute(text(statement))
        db.session.flush()
    db.session.rollback()
    assert "append-only" in str(refused.value)
    assert db.session.execute(text("SELECT COUNT(*), MIN(actor) FROM history_events")).one() == before
    assert _verify(client.application).exit_code == 0


def test_verify_passes_then_names_an_edited_entry(client):
    flow = _case(client)
    result = _verify(client.application)
    assert result.exit_code == 0, result.output
    assert "history intact" in result.output
    completed = next((i, t) for i, t in _events(flow.instance_id) if t == "task_completed")
    with _as_dba():
        db.session.execute(text("UPDATE history_events SET actor = 'someone_else' WHERE id = :i"), {"i": completed[0]})
    result = _verify(client.application)
    assert result.exit_code == 1
    assert f"entry {completed[0]} (instance {flow.instance_id}, type task_completed): altered" in result.output


def test_verify_names_a_deleted_entry_in_the_middle(client):
    flow = _case(client)
    middle, after = _events(flow.instance_id)[3:5]
    with _as_dba():
        db.session.execute(text("DELETE FROM history_events WHERE id = :i"), {"i": middle[0]})
    result = _verify(client.application)
    assert result.exit_code == 1
    assert f"entry {middle[0]} (instance {flow.instance_id}" in result.output
    assert "deleted" in result.output and f"jumps to entry {after[0]}" in result.output


def test_verify_names_a_deleted_newest_entry(client):
    flow = _case(client)
    other = Flow(client)  # a second case, untouched
    newest = _events(flow.instance_id)[-1]
    with _as_dba():
        db.session.execute(text("DELETE FROM history_events WHERE id = :i"), {"i": newest[0]})
    result = _verify(client.application)
    assert result.exit_code == 1
    assert f"entry {newest[0]} (instance {flow.instance_id}, type {newest[1]}): deleted" in result.output
    assert "1 chain(s)" in result.output
    assert audit.verify_instance(other.instance_id) is None


def test_verify_covers_events_without_a_case(client):
    _case(client)  # sign-ins are events without an instance
    (login,) = db.session.execute(
        text("SELECT id FROM history_events WHERE instance_id IS NULL AND type = 'login' ORDER BY id LIMIT 1")
    ).one()
    with _as_dba():
        db.session.execute(text("DELETE FROM history_events WHERE id = :i"), {"i": login})
    result = _verify(client.application)
    assert result.exit_code == 1
    assert f"entry {login} (instance none" in result.output
