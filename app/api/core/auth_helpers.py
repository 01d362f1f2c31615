"""Bearer-token authentication for API routes. Every route declares it (architecture test).

Authentication runs before anything reads the request (app.api.register installs `authenticate_request`
as a before_request hook): flask-smorest parses and validates `@blp.arguments` before the view's own
decorators run, so without the hook an anonymous caller would get 422 field errors (or a 400 for a
broken body) before the 401."""

from __future__ import annotations

import functools

from flask import current_app, g, request

from app.input_limits import check_json_body, check_text_params
from app.services.core.errors import Unauthorised
from app.services.people import users


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthorised("Send an Authorization: Bearer token (POST /api/v1/auth/token)")
    return header.removeprefix("Bearer ").strip()


def _authenticate() -> None:
    g.token = _bearer()
    g.user = users.user_for_token(g.token)


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("user") is None:  # normally done already by authenticate_request
            _authenticate()
        return view(*args, **kwargs)

    wrapper.login_required = True  # type: ignore[attr-defined]  # tests check every route has it
    return wrapper


def public(view):
    """Mark a route as deliberately open (only sign-in)."""
    view.public = True
    return view


def _marked_public(view) -> bool:
    while view is not None:
        if getattr(view, "public", False):
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def authenticate_request() -> None:
    """before_request for /api/v1/: the bearer token first (401), then the body's JSON (400/413),
    then whatever the route validates (422). Public routes (sign-in) and the OpenAPI document are
    the allow-list; unknown paths and methods fall through to their 404/405."""
    if not request.path.startswith("/api/v1/") or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    if view is None or request.endpoint.startswith("api-docs."):
        return
    if not _marked_public(view):
        _authenticate()
    check_text_params()
    check_json_body()
