"""One set of error handlers for both surfaces: JSON under /api/, GOV.UK pages elsewhere."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from app.services.core.errors import ServiceError

log = logging.getLogger(__name__)
CODES = {
    400: "bad_request",
    401: "unauthorised",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}
PAGES = {
    400: "errors/400.html",
    403: "errors/403.html",
    404: "errors/404.html",
    409: "errors/409.html",
    429: "errors/429.html",
}


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _json_details(err: HTTPException) -> dict:
    data = getattr(err, "data", None)
    if isinstance(data, dict) and "messages" in data:
        flat: dict = {}
        for location in data["messages"].values():  # flask-smorest nests by location (json/query)
            if isinstance(location, dict):
                flat.update(location)
        return {"errors": flat}
    return {}


def _headers(err: HTTPException) -> dict[str, str]:
    """The exception's own headers (Allow on 405, Retry-After on 429/503, WWW-Authenticate), not its type."""
    return {k: v for k, v in err.get_headers() if k.lower() != "content-type"}


def _number_out_of_range(err: BaseException | None) -> bool:
    """SQLite's driver: OverflowError; PostgreSQL: SQLSTATE 22003 (numeric_value_out_of_range)."""
    seen = 0
    while err is not None and seen < 5:
        if isinstance(err, OverflowError) or getattr(err, "sqlstate", None) == "22003":
            return True
        err = getattr(err, "orig", None) or err.__cause__ or err.__context__
        seen += 1
    return False


def register(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(err: ServiceError):
        if _is_api():
            return jsonify(error=err.code, message=err.message, details=err.details), err.status, err.headers
        return (render_template(PAGES.get(err.status, "errors/400.html"), message=err.message), err.status, err.headers)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        if _is_api():
            message = "Check the highlighted fields" if err.code == 422 else (err.description or err.name)
            return (
                jsonify(error=CODES.get(err.code or 500, "error"), message=message, details=_json_details(err)),
                err.code,
                _headers(err),
            )
        if err.code is None or err.code >= 500:
            return render_template("errors/500.html"), err.code, _headers(err)
        return (
            render_template(PAGES.get(err.code, "errors/400.html"), message=err.description),
            err.code,
            _headers(err),
        )

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        if _number_out_of_range(err):  # a number too large for the database that a schema let through
            log.warning("number out of range on %s %s", request.method, request.url_rule)
            message = "A number in the request is too large"
            if _is_api():
                return jsonify(error="invalid", message=message, details={}), 422
            return render_template("errors/400.html", message=message), 422
        # The exception's message may quote case data: log its type and where it happened, not what it says.
        log.error(
            "unhandled %s on %s %s\n%s",
            type(err).__name__,
            request.method,
            request.url_rule,
            "".join(traceback.format_tb(err.__traceback__)),
        )
        if _is_api():
            return jsonify(error="server_error", message="Something went wrong. It has been logged.", details={}), 500
        return render_template("errors/500.html"), 500
