"""JSON API v1: thin blueprints that parse, call a service and render."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register(app: Flask, api: Api) -> None:
    """Attach the v1 blueprints. Error handlers: app.error_pages."""
    from app.api.audit import audit  # case history, exports, break-glass
    from app.api.cases import contacts, instances, processes, tasks
    from app.api.modelling import deployments
    from app.api.partners import disputes
    from app.api.people import auth

    for module in (auth, contacts, disputes, instances, tasks, deployments, processes, audit):
        api.register_blueprint(module.blp)
    from app.api.core.auth_helpers import authenticate_request

    app.before_request(authenticate_request)  # 401 before any 400/422 about the request's content
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
