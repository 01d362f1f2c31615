"""One transaction per use case: commit everything (state + audit) or nothing.

Why explicit: the guide's rule "every state change and its audit record commit in one
transaction"; optimistic-lock failures become a Conflict (409) with nothing written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.services.core.errors import Conflict

_AFTER_COMMIT = "after_commit"


@contextmanager
def unit_of_work() -> Iterator[None]:
    committed = False
    try:
        yield
        db.session.commit()
        committed = True
    except StaleDataError:
        db.session.rollback()
        raise Conflict("Someone else changed this case at the same time. Reload it and try again.") from None
    except IntegrityError:
        db.session.rollback()
        raise Conflict("This change conflicts with another one that was saved first.") from None
    except BaseException:
        db.session.rollback()
        raise
    finally:
        db.session.info.pop("history_heads", None)  # per-transaction cache (history.record)
        callbacks = db.session.info.pop(_AFTER_COMMIT, ())
    if committed:
        for callback in callbacks:
            callback()


def after_commit(callback: Callable[[], None]) -> None:
    """Call `callback` once the current transaction has committed through unit_of_work (a commit of an enclosing
    or enclosed unit_of_work on the same session counts); never if the session rolls back first."""
    db.session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, _previous_transaction: object) -> None:
    """Any rollback (unit_of_work's, or a caller's own `db.session.rollback()`) drops what waited for a commit."""
    session.info.pop(_AFTER_COMMIT, None)


def configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE for every transaction on SQLite.

    A deferred SQLite transaction that reads and then writes fails at once with "database is
    locked" under concurrency; BEGIN IMMEDIATE waits for the busy timeout instead.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
