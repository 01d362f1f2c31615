"""Your account: the name you are shown by (header, tasks, case files and histories)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from app.services.access import permissions
from app.services.core.errors import Invalid
from app.services.people import users
from app.web import bp
from app.web.core import security


@bp.route("/account/name", methods=["GET", "POST"])
@security.login_required
@permissions.requires("signed_in")
def account_name():
    user = g.current_user
    value, error, status = user.display_name, None, 200
    if request.method == "POST":
        value = request.form.get("display_name", "")
        try:
            users.set_display_name(user, value)
        except Invalid as err:
            error, status = err.first_messages()["display_name"], 422
        else:
            flash(f"Your name is now {user.display_name}")
            return redirect(url_for("web.inbox"))
    return render_template("account/name.html", value=value, error=error, username=user.username), status
