"""Sign in, sign out, the start page and the expired-session page."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import current_app, g, make_response, redirect, render_template, request, url_for

from app.services.access import permissions
from app.services.core.errors import Throttled, Unauthorised
from app.services.people import throttle, web_sessions
from app.web import bp
from app.web.core import security


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after sign-in would help phishing."""
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return url_for("web.inbox")


@bp.get("/")
@security.public
@permissions.requires("public")
def start():
    if g.current_user is not None:
        return redirect(url_for("web.inbox"))
    return render_template("public/start.html")


@bp.route("/sign-in", methods=["GET", "POST"])
@security.public
@permissions.requires("public")
def sign_in():
    error = None
    username = ""
    status, headers = 200, {}
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        if not username or not password:
            error = "Enter your username and password"
        else:
            try:
                user = throttle.sign_in(username, password, throttle.request_address(), via="web")
            except Throttled as err:
                error, status, headers = err.message, 429, err.headers
            except Unauthorised:
                error = "Enter a correct username and password"
            else:
                token, _ = web_sessions.start(user)
                response = make_response(redirect(_safe_next(request.args.get("next"))))
                response.set_cookie(
                    security.cookie_name(security.SESSION_COOKIE),
                    token,
                    httponly=True,
                    secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
                    samesite="Lax",
                    path="/",
                )
                return response
    if error and status == 200:
        status = 400
    return render_template("auth/sign_in.html", error=error, username=username), status, headers


@bp.post("/sign-out")
@security.login_required
@permissions.requires("signed_in")
def sign_out():
    token = request.cookies.get(security.cookie_name(security.SESSION_COOKIE))
    if token:
        web_sessions.end(token)
    response = make_response(redirect(url_for("web.signed_out")))
    response.delete_cookie(security.cookie_name(security.SESSION_COOKIE), path="/")
    return response


@bp.get("/signed-out")
@security.public
@permissions.requires("public")
def signed_out():
    return render_template("auth/signed_out.html")


@bp.get("/session-expired")
@security.public
@permissions.requires("public")
def session_expired():
    response = make_response(render_template("errors/session_expired.html"))
    response.delete_cookie(security.cookie_name(security.SESSION_COOKIE), path="/")
    return response
