"""Test fixtures: one schema per session (built by the Alembic migrations), emptied between tests.

MASH_TEST_BACKEND=postgresql runs everything against MASH_TEST_DATABASE_URL; the default is a
temporary SQLite file, so both databases see the same tests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from app import create_app
from app.config import Config, TestConfig
from app.engine.clock import CLOCK
from app.extensions import db
from tests.support import models_dir

BACKEND = os.environ.get("MASH_TEST_BACKEND", "sqlite")


PG_SCHEMA = f"mash_test_{os.getpid()}"  # one schema per run: parallel runs on one database never collide


def _database_url(tmp_dir: str) -> str:
    if BACKEND == "postgresql":
        url = os.environ.get("MASH_TEST_DATABASE_URL")
        if not url:
            raise RuntimeError("MASH_TEST_BACKEND=postgresql needs MASH_TEST_DATABASE_URL")
        if url.startswith("postgresql://"):
            url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{PG_SCHEMA}"
    return f"sqlite:///{tmp_dir}/test.db"


@contextlib.contextmanager
def _logging_as_the_server_has_it():
    """Alembic's env.py configures the process's logging (a console handler on the root logger), as it does for
    `mash db upgrade` in that command's own process. A server never runs migrations, so afterwards the test
    process's logging goes back to what the server has: the suite then runs the engine path production runs
    (app/engine/host_task.py builds SpiffWorkflow's per-state-change records only when a handler could take them)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture(scope="session")
def app():
    tmp = tempfile.mkdtemp(prefix="mash-test-")
    config = type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": _database_url(tmp), "MODELS_DIR": models_dir()})
    application = create_app(config)
    from app.services.people import users

    users.use_fast_hashing_for_tests()
    with application.app_context():
        if BACKEND == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE; CREATE SCHEMA {PG_SCHEMA}"))
        from flask_migrate import upgrade

        with _logging_as_the_server_has_it():
            upgrade(revision="heads")
    yield application
    if BACKEND == "postgresql":
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
            with db.engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    # History is append-only (triggers, migration e7a1c0de0001): the tests empty it as a DBA would.
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))  # superuser: triggers off
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        guards = db.session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
        for name, _ in guards:
            db.session.execute(text(f'DROP TRIGGER "{name}"'))
        for name in tables:
            db.session.execute(text(f"DELETE FROM {name}"))
        db.session.execute(text("DELETE FROM sqlite_sequence")) if db.session.execute(
            text("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'")
        ).first() else None
        for _, sql in guards:
            db.session.connection().exec_driver_sql(sql)
    db.session.commit()


@pytest.fixture
def ctx(app):
    """An app context on an empty database with the real models deployed as version 1."""
    from app.services.cases import persist
    from app.services.modelling import deployments

    with app.app_context():
        _empty_tables()
        persist.engine_host_version.cache_clear()
        from app.services.core import engine_host

        engine_host.forget_all()
        CLOCK.freeze(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))  # a Tuesday, MASH open
        deployments.deploy(deployments.read_model_dir(models_dir()), actor_name="tests")
        yield app
        db.session.remove()
        CLOCK.reset()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "restart_between_steps: every API call and timer sweep of the test runs as "
        "if on another worker just restarted (fresh model bundle, nothing cached)",
    )


@pytest.fixture(autouse=True)
def _restart_between_steps(request, monkeypatch):
    """Journeys marked `restart_between_steps` prove a case survives a restart between any two steps and any
    worker taking the next request: before each API call and timer sweep every cache of the engine host is
    dropped, and every engine run restores its case on spec objects parsed afresh (MASH_FRESH_BUNDLES)."""
    if request.node.get_closest_marker("restart_between_steps") is None:
        yield
        return
    from app.services.cases import persist
    from app.services.core import engine_host, timers
    from tests.support import Api

    def restart() -> None:
        engine_host.forget_all()
        persist.engine_host_version.cache_clear()

    def restarting(original):
        def step(*args, **kwargs):
            restart()
            return original(*args, **kwargs)

        return step

    monkeypatch.setattr(Api, "call", restarting(Api.call))
    monkeypatch.setattr(timers, "fire_due", restarting(timers.fire_due))
    engine_host.use_fresh_bundles(True)
    try:
        yield
    finally:
        engine_host.use_fresh_bundles(Config.FRESH_BUNDLES)


@pytest.fixture
def client(ctx):
    return ctx.test_client()
