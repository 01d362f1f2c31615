"""Bearer-token authentication for API routes. Every route declares it (architecture test)."""
from __future__ import annotations

import functools

from flask import g, request

from app.services import users
from app.services.errors import Unauthorised


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthorised("Send an Authorization: Bearer token (POST /api/v1/auth/token)")
    return header.removeprefix("Bearer ").strip()


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.token = _bearer()
        g.user = users.user_for_token(g.token)
        return view(*args, **kwargs)

    wrapper.login_required = True
    return wrapper


def public(view):
    """Mark a route as deliberately open (only sign-in)."""
    view.public = True
    return view
