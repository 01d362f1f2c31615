"""Browser-side security: server-side session lookup, CSRF tokens, and the web login decorator.

Signed-in forms carry the session's CSRF token; the anonymous referral form carries an HMAC of
a random SameSite=Strict cookie (double submit), so a cross-site POST fails either way.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from flask import abort, current_app, g, redirect, request, url_for

from app.services.core.errors import Unauthorised
from app.services.people import web_sessions

SESSION_COOKIE = "mash_session"
ANON_COOKIE = "mash_anon"


def cookie_name(base: str) -> str:
    """`__Host-` prefix when cookies are Secure (behind HTTPS); browsers refuse it over plain HTTP."""
    return f"__Host-{base}" if current_app.config.get("SESSION_COOKIE_SECURE") else base


def load_session() -> None:
    g.web_session = None
    g.current_user = None
    g.session_expired = False
    token = request.cookies.get(cookie_name(SESSION_COOKIE))
    if not token:
        return
    try:
        row = web_sessions.resolve(
            token,
            idle_minutes=current_app.config["SESSION_IDLE_MINUTES"],
            absolute_hours=current_app.config["SESSION_ABSOLUTE_HOURS"],
        )
    except web_sessions.SessionExpired:
        g.session_expired = True
        return
    except Unauthorised:
        return
    g.web_session = row
    g.current_user = row.user


def _anon_value() -> str:
    value = request.cookies.get(cookie_name(ANON_COOKIE))
    if not value:
        value = getattr(g, "new_anon_cookie", None) or secrets.token_urlsafe(24)
        g.new_anon_cookie = value
    return value


def csrf_token() -> str:
    if getattr(g, "web_session", None) is not None:
        return g.web_session.csrf_token
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, _anon_value().encode(), hashlib.sha256).hexdigest()


def check_csrf() -> None:
    """Refuse any state-changing browser request without the right token (400)."""
    sent = request.form.get("csrf_token", "")
    if getattr(g, "web_session", None) is not None:
        expected = g.web_session.csrf_token
    else:
        cookie = request.cookies.get(cookie_name(ANON_COOKIE))
        if not cookie:
            abort(400, description="Your form expired. Go back, reload the page and try again.")
        expected = hmac.new(current_app.config["SECRET_KEY"].encode(), cookie.encode(), hashlib.sha256).hexdigest()
    if not sent or not hmac.compare_digest(sent, expected):
        abort(400, description="Your form expired. Go back, reload the page and try again.")


def set_cookies(response):
    secure = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    new_anon = getattr(g, "new_anon_cookie", None)
    if new_anon:
        response.set_cookie(
            cookie_name(ANON_COOKIE), new_anon, httponly=True, secure=secure, samesite="Strict", path="/"
        )
    return response


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if g.current_user is None:
            if g.session_expired:
                return redirect(url_for("web.session_expired"))
            return redirect(url_for("web.sign_in", next=request.path))
        return view(*args, **kwargs)

    wrapper.login_required = True  # type: ignore[attr-defined]  # tests check every route has it
    return wrapper


def public(view):
    view.public = True
    return view
