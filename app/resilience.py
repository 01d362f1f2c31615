"""Database connections that heal: pool options for PostgreSQL and one retry of a safe request.

Why: a PostgreSQL restart, a fail-over or an idle connection cut by a firewall leaves dead
connections in every worker's pool. `pool_pre_ping` tests a connection before each checkout and
`pool_recycle` replaces old ones, so most requests never see a dead one. The few that still do
(the connection dies between the ping and the query) are handled here:

- a GET, HEAD or OPTIONS request is run again once, from the start, in a fresh app context with a
  fresh database session (it changes nothing a user asked for, so running it twice is safe);
- any other request (a POST completing a task) is never repeated behind the user's back: it
  answers 503 "the database connection was lost" instead of a 500, and the user decides.

Only connection-level failures count (SQLAlchemy marks them `connection_invalidated`; psycopg
reports them as OperationalError with SQLSTATE class 08 or an admin/crash shutdown, or with no
SQLSTATE when the client side saw the socket close). Every other database error is unchanged.
Nothing about the request's content is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import ServiceUnavailable

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRIED = "mash.retried_after_disconnect"  # WSGI environ key: this request already had its retry
POOL_RECYCLE_SECONDS = 1800
# SQLSTATEs that mean the connection itself is gone: class 08 (connection exception) and the
# server shutting the session down (admin_shutdown, crash_shutdown, cannot_connect_now).
_GONE_SQLSTATES = ("57P01", "57P02", "57P03")


def engine_options(uri: str, configured: dict | None, recycle: int = POOL_RECYCLE_SECONDS) -> dict:
    """SQLALCHEMY_ENGINE_OPTIONS for this database: the configured ones win over our defaults.

    Every database: `hide_parameters`, so a database error's message (and any log of it) never
    quotes the values of a statement — they are case data. PostgreSQL (any driver) also gets
    `pool_pre_ping` and `pool_recycle`; SQLite's pool is left as it is (its connections are
    files; app.services.core.transaction.configure_sqlite sets them up)."""
    options = dict(configured or {})
    options.setdefault("hide_parameters", True)
    if uri.startswith("postgresql"):
        options.setdefault("pool_pre_ping", True)
        options.setdefault("pool_recycle", recycle)
    return options


def _psycopg_connection_lost(exc: BaseException | None) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith("08") or state in _GONE_SQLSTATES


def is_connection_lost(exc: BaseException | None) -> bool:
    """True when `exc` (or what caused it) says the database connection was dropped."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, DBAPIError):
            if exc.connection_invalidated or _psycopg_connection_lost(exc.orig):
                return True
        elif _psycopg_connection_lost(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class RetryRequest(BaseException):
    """Raised out of Flask (BaseException: no error handler catches it) to run a safe request again.

    Flask still pops the request and app contexts on the way out, so Flask-SQLAlchemy's teardown
    removes the session bound to the dead connection."""


class MashFlask(Flask):
    """Flask, plus: a dropped database connection is retried (safe methods) or a 503 (others)."""

    def handle_user_exception(self, e: Exception):
        if is_connection_lost(e):
            _discard_session()
            if request.method in SAFE_METHODS and not request.environ.get(RETRIED):
                raise RetryRequest() from e
            log.warning("database connection lost during %s %s; answered 503", request.method, request.url_rule)
            e = ServiceUnavailable(
                "The connection to the database was lost, so this may not have been saved. "
                "Check the case, then try again."
            )
        return super().handle_user_exception(e)


def _discard_session() -> None:
    from app.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the session is removed at teardown anyway
        log.debug("rollback after a lost connection failed", exc_info=False)


class RetryOnDisconnect:
    """WSGI middleware around Flask.wsgi_app: re-dispatch a safe request once after RetryRequest."""

    def __init__(self, wsgi_app: Callable, app: Flask):
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            return self.wsgi_app(environ, start_response)
        except RetryRequest:
            environ[RETRIED] = True
            log.warning(
                "database connection lost during %s; retrying once on a fresh connection", environ.get("REQUEST_METHOD")
            )
            self._dispose_pool()
            return self.wsgi_app(environ, start_response)

    def _dispose_pool(self) -> None:
        """Drop every idle pooled connection (they may all be dead: a server restart kills them all)."""
        from app.extensions import db

        try:
            with self.app.app_context():
                db.engine.dispose()
        except Exception:
            log.debug("pool dispose failed", exc_info=False)


def install(app: Flask, **_: Any) -> None:
    app.wsgi_app = RetryOnDisconnect(app.wsgi_app, app)  # type: ignore[method-assign]
