"""MASH front door: a Flask host for BPMN/DMN processes run by SpiffWorkflow."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, request

from app.config import Config, config_from_env
from app.extensions import api as rest_api
from app.extensions import db, migrate
from app.resilience import MashFlask, engine_options
from app.resilience import install as install_connection_retry

log = logging.getLogger(__name__)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def create_app(config: type[Config] | dict | None = None) -> Flask:
    app = MashFlask(__name__, instance_relative_config=False)
    if config is None:
        config = config_from_env()
    if isinstance(config, dict):
        base = config_from_env()
        app.config.from_object(base)
        app.config.update(config)
    else:
        app.config.from_object(config)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("Set MASH_SECRET_KEY: production refuses to start without a secret key")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # PostgreSQL: test pooled connections before use and replace old ones (app.resilience)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        uri, app.config.get("SQLALCHEMY_ENGINE_OPTIONS"), app.config.get("DB_POOL_RECYCLE_SECONDS", 1800)
    )

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True, compare_type=True
    )
    with app.app_context():
        from app.services.core.transaction import configure_sqlite

        configure_sqlite(db.engine)
    from app.services.core import engine_host

    engine_host.use_fresh_bundles(bool(app.config.get("FRESH_BUNDLES")))
    # Features that add rules to other services register them when imported (nothing else imports them first
    # everywhere): service operations and a task listener (engine_host), need-to-know (access), break-glass.
    from app.input_limits import install as install_input_limits
    from app.services.access import break_glass  # noqa: F401
    from app.services.audit import audit_sampling  # noqa: F401

    install_input_limits(app, rest_api)  # 64-bit ids in URLs, JSON depth: before any route is added
    rest_api.init_app(app)
    from app.api import register as register_api
    from app.error_pages import register as register_errors
    from app.web import register as register_web

    register_api(app, rest_api)
    register_web(app)
    register_errors(app)
    install_connection_retry(app)  # a safe request that lost its database connection runs once more

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", CSP)
        if not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")  # case data must not stay in caches
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    return app
