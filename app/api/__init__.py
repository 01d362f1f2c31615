"""JSON API v1: thin blueprints that parse, call a service and render."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register(app: Flask, api: Api) -> None:
    """Attach the v1 blueprints. Error handlers: app.error_pages."""
    from app.api import auth, contacts, deployments, disputes, instances, processes, tasks
    from app.api import audit  # case history, exports, break-glass

    for module in (auth, contacts, disputes, instances, tasks, deployments, processes, audit):
        api.register_blueprint(module.blp)
    from app.api.auth_helpers import authenticate_request
    app.before_request(authenticate_request)  # 401 before any 400/422 about the request's content
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})


