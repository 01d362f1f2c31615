"""JSON API v1: thin blueprints that parse, call a service and render."""
from __future__ import annotations

from flask import Flask, jsonify
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from app.services.errors import ServiceError


def register(app: Flask, api: Api) -> None:
    from app.api import auth, contacts, instances, tasks

    for module in (auth, contacts, instances, tasks):
        api.register_blueprint(module.blp)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})

    @app.errorhandler(ServiceError)
    def _service_error(err: ServiceError):
        return jsonify(error=err.code, message=err.message, details=err.details), err.status

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        details = {}
        data = getattr(err, "data", None)
        if isinstance(data, dict) and "messages" in data:
            messages = data["messages"]
            # flask-smorest nests by location (json/query); flatten to {field: [msg]}
            flat = {}
            for location in messages.values():
                if isinstance(location, dict):
                    flat.update(location)
            details = {"errors": flat}
        code = {400: "bad_request", 401: "unauthorised", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid"}.get(err.code, "error")
        message = "Check the highlighted fields" if err.code == 422 else (err.description or err.name)
        return jsonify(error=code, message=message, details=details), err.code
