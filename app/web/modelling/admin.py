"""Administration pages: closure days for the MASH calendar."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for

from app.services.access import permissions
from app.services.core.errors import Invalid, NotFound
from app.services.modelling import calendar_admin
from app.web import bp
from app.web.core import security


@bp.get("/admin/closure-days")
@security.login_required
@permissions.requires(
    "closure_days.manage", message="Closure days are managed by administrators and the service manager"
)
def closure_days():
    return render_template("admin/closure_days.html", rows=calendar_admin.closures(), errors={}, values={})


@bp.post("/admin/closure-days")
@security.login_required
@permissions.requires(
    "closure_days.manage", message="Closure days are managed by administrators and the service manager"
)
def add_closure_day():
    values = {"day": request.form.get("day", "").strip(), "reason": request.form.get("reason", "").strip()}
    errors: dict[str, str] = {}
    try:
        day = date.fromisoformat(values["day"])
    except ValueError:
        errors["day"] = "Enter the date as year-month-day, for example 2026-12-29"
    if not errors:
        try:
            calendar_admin.add_closure(day, values["reason"], actor=g.current_user)
        except Invalid as err:
            errors = err.first_messages()
    if errors:
        return render_template(
            "admin/closure_days.html", rows=calendar_admin.closures(), errors=errors, values=values
        ), 422
    flash(f"The MASH is closed on {day:%A %-d %B %Y}: deadlines now skip it")
    return redirect(url_for("web.closure_days"))


@bp.post("/admin/closure-days/<string:day>/remove")
@security.login_required
@permissions.requires(
    "closure_days.manage", message="Closure days are managed by administrators and the service manager"
)
def remove_closure_day(day: str):
    try:
        calendar_admin.remove_closure(date.fromisoformat(day), actor=g.current_user)
    except (ValueError, NotFound):
        abort(404)
    flash(f"{day} is a working day again")
    return redirect(url_for("web.closure_days"))
