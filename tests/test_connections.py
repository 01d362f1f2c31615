"""Dropped database connections: pre-ping heals the pool, a safe request is retried once, a POST
is never repeated behind the user's back (503, not 500). app/resilience.py."""

from __future__ import annotations

import logging
import os

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from app import create_app
from app.api.core.auth_helpers import public
from app.config import TestConfig
from app.extensions import db
from app.resilience import engine_options, is_connection_lost
from tests.conftest import BACKEND
from tests.support import PASSWORD, make_people, models_dir

postgresql_only = pytest.mark.skipif(BACKEND != "postgresql", reason="needs PostgreSQL backends to terminate")


def _lost() -> OperationalError:
    return OperationalError(
        "SELECT 1", {}, Exception("server closed the connection unexpectedly"), connection_invalidated=True
    )


def test_engine_options_add_pre_ping_and_recycle_on_postgresql_only():
    hidden = {"hide_parameters": True}
    assert engine_options("postgresql+psycopg://u@h/db", {}) == {**hidden, "pool_pre_ping": True, "pool_recycle": 1800}
    assert engine_options("postgresql://u@h/db", {"pool_pre_ping": False}, 60) == {
        **hidden,
        "pool_pre_ping": False,
        "pool_recycle": 60,
    }
    assert engine_options("sqlite:////tmp/x.db", {}) == hidden
    assert engine_options("sqlite://", {"echo": False}) == {**hidden, "echo": False}


def test_database_errors_never_quote_the_values(app):
    from sqlalchemy.exc import DBAPIError

    with app.app_context():
        with pytest.raises(DBAPIError) as caught:
            db.session.execute(text("SELECT no_such_column FROM users WHERE username = :u"), {"u": "CANARY-name-value"})
        db.session.rollback()
        db.session.remove()
    assert "CANARY-name-value" not in str(caught.value)


def test_only_connection_failures_count_as_lost():
    assert is_connection_lost(_lost())
    assert not is_connection_lost(OperationalError("SELECT 1", {}, Exception("database is locked")))
    assert not is_connection_lost(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not is_connection_lost(ValueError("no"))
    import psycopg

    assert is_connection_lost(psycopg.OperationalError("consuming input failed"))
    assert is_connection_lost(psycopg.errors.AdminShutdown("terminating connection due to administrator command"))
    assert not is_connection_lost(psycopg.errors.QueryCanceled("canceling statement due to statement timeout"))


@pytest.fixture
def flaky_app(tmp_path):
    """An app with a route that loses its database connection on the first call only."""
    application = create_app(type("C", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/flaky.db"}))
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        if calls["n"] == 1:
            raise _lost()
        return {"ok": True, "calls": calls["n"]}

    application.add_url_rule("/api/v1/flaky", "flaky", public(flaky), methods=["GET", "POST"])  # no token needed
    application.add_url_rule("/flaky-page", "flaky_page", flaky, methods=["GET", "POST"])
    return application, calls


def test_a_get_that_loses_its_connection_is_run_again_once(flaky_app, caplog):
    application, _calls = flaky_app
    with caplog.at_level(logging.WARNING, logger="app.resilience"):
        response = application.test_client().get("/api/v1/flaky")
    assert response.status_code == 200 and response.json == {"ok": True, "calls": 2}
    assert "retrying once" in caplog.text


def test_a_get_that_loses_it_twice_gets_503_not_500(flaky_app):
    application, _ = flaky_app
    application.view_functions["flaky"] = public(lambda: (_ for _ in ()).throw(_lost()))
    response = application.test_client().get("/api/v1/flaky")
    assert response.status_code == 503
    assert response.json["message"].startswith("The connection to the database was lost")


def test_a_post_that_loses_its_connection_is_not_repeated(flaky_app):
    application, calls = flaky_app
    response = application.test_client().post("/api/v1/flaky", json={})
    assert response.status_code == 503 and calls["n"] == 1
    assert application.test_client().post("/api/v1/flaky", json={}).status_code == 200


def test_a_page_that_keeps_losing_its_connection_is_a_503_page(flaky_app):
    application, _ = flaky_app
    application.view_functions["flaky_page"] = lambda: (_ for _ in ()).throw(_lost())
    page = application.test_client().get("/flaky-page")
    assert page.status_code == 503 and page.mimetype == "text/html"


# -- on PostgreSQL: really cut the app's connections ----------------------------------------------
def _own_app(app, name: str, **engine_options):
    """A second app on the test schema whose connections carry application_name=name."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    url = f"{url}{'&' if '?' in url else '?'}application_name={name}"
    return create_app(
        type(
            "C",
            (TestConfig,),
            {"SQLALCHEMY_DATABASE_URI": url, "MODELS_DIR": models_dir(), "SQLALCHEMY_ENGINE_OPTIONS": engine_options},
        )
    )


def _terminate(app, name: str) -> int:
    """Terminate only the backends of the app named `name` (never the test suite's own)."""
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        ).all()
    return len(rows)


def _signed_in(application) -> tuple:
    client = application.test_client()
    response = client.post("/api/v1/auth/token", json={"username": "masho", "password": PASSWORD})
    assert response.status_code == 200, response.json
    headers = {"Authorization": f"Bearer {response.json['access_token']}"}
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200  # the pool now holds a connection
    return client, headers


@postgresql_only
@pytest.mark.parametrize("pre_ping", [True, False], ids=["pre-ping", "retry"])
def test_terminated_backends_cost_no_500(app, caplog, pre_ping):
    with app.app_context():
        make_people(["masho"])
    name = f"mash_conn_{os.getpid()}_{'ping' if pre_ping else 'retry'}"
    application = _own_app(app, name, **({} if pre_ping else {"pool_pre_ping": False}))
    try:
        with application.app_context():
            assert db.engine.pool._pre_ping is pre_ping
            assert db.engine.pool._recycle == 1800
        client, headers = _signed_in(application)
        for _ in range(2):  # twice: the healed pool must keep working after another cut
            assert _terminate(app, name) >= 1
            with caplog.at_level(logging.WARNING, logger="app.resilience"):
                assert client.get("/api/v1/tasks", headers=headers).status_code == 200
                assert client.get("/", headers=headers).status_code == 200
            if not pre_ping:
                assert "retrying once" in caplog.text
            caplog.clear()
    finally:
        with application.app_context():
            db.engine.dispose()


@postgresql_only
def test_a_post_on_a_terminated_backend_is_503_and_not_repeated(app):
    with app.app_context():
        make_people(["masho"])
    name = f"mash_conn_{os.getpid()}_post"
    application = _own_app(app, name, pool_pre_ping=False)
    try:
        client, headers = _signed_in(application)
        assert _terminate(app, name) >= 1
        response = client.post("/api/v1/auth/token", json={"username": "masho", "password": PASSWORD})
        assert response.status_code == 503, response.json
        assert client.get("/api/v1/tasks", headers=headers).status_code == 200  # the next request is fine
    finally:
        with application.app_context():
            db.engine.dispose()
