"""Case history pages (timeline, exports), break-glass and its review, and the one hook that
records every read of a case — web page or API — as a `viewed` event."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from app import downloads
from app.services.access import break_glass, permissions
from app.services.audit import audit
from app.services.core.errors import Invalid
from app.web import bp
from app.web.core import security
from app.web.core.filters import london

# Requests naming a case that are not a read of it (exports and break-glass record their own event).
TASK_ARGS = ("task_id", "earlier_id")
NOT_VIEWS = frozenset(
    {
        "web.audit_export_csv",
        "web.audit_export_pdf",
        "web.break_glass",
        "web.audit_open",
        "audit_api.export",
        "tasks.task_form",
    }
)  # a task's form holds no case data


@bp.after_app_request
def _record_case_views(response):
    """Every page or API read that shows a case appends `viewed` to that case's history: pages and
    API reads keyed by `instance_id` or `task_id`, and the API task list of one case. A list of many
    cases (the inbox, the API task list) records ONE `list_viewed` event naming the cases it showed,
    on no case's chain, so a list never waits for (or holds up) work on those cases.
    Refused reads (403/404) are recorded as `access_denied` by the services that refuse them."""
    endpoint = request.endpoint or ""
    if not endpoint or endpoint in NOT_VIEWS or endpoint == "static":
        return response
    api = request.path.startswith("/api/")
    if api:
        if request.method != "GET" or response.status_code != 200:
            return response
        user = g.get("user")
    else:  # pages (a form sent back with errors shows the case too) and downloads such as letters
        if response.status_code not in (200, 422) or (response.mimetype != "text/html" and request.method != "GET"):
            return response
        user = g.get("current_user")
    args = request.view_args or {}
    task_id = args.get("task_id")
    if "instance_id" in args:
        ids = [args["instance_id"]]
    elif task_id:  # an earlier answer shown beside a task may belong to another case of the child
        ids = [audit.instance_of_task(args[name]) for name in TASK_ARGS if args.get(name)]
    elif "cases_listed" in g:  # set by the list views: {"instances": [...], "page": {...}}
        listed = g.cases_listed
        if endpoint == "tasks.list_tasks" and request.args.get("instance_id"):
            ids = listed["instances"]  # one case's tasks: a read of that case
        else:
            if user is not None:
                audit.record_list_view(
                    user, listed["instances"], endpoint, via="api" if api else "web", page=listed["page"]
                )
            return response
    else:
        return response
    if user is not None:
        audit.record_view(user, ids, endpoint, via="api" if api else "web", task_id=task_id)
    return response


# ---- find a case ---------------------------------------------------------------------------------

# The Find a case page itself (GET /audit, endpoint web.audit_home) is in app/web/cases/find_case.py.


@bp.get("/audit/open")
@security.login_required
@permissions.requires("signed_in")  # only routes: the case, its history or break-glass decide
def audit_open():
    """A case number typed in: the case (or its history), or the break-glass question first."""
    to = "timeline" if request.args.get("to") == "timeline" else "case"
    raw = (request.args.get("case") or "").strip().removeprefix("Case ").strip()
    if not raw.isdigit():
        return redirect(url_for("web.audit_home", error="Enter a case number, like 123"))
    instance_id = int(raw)
    state = break_glass.status(g.current_user, instance_id)
    if state == "may_break_glass":
        return redirect(url_for("web.break_glass", instance_id=instance_id, next=to))
    if state == "no":
        return redirect(url_for("web.audit_home", error=f"You cannot open case {instance_id}"))
    return redirect(_next_url(instance_id, to))


def _next_url(instance_id: int, to: str) -> str:
    return url_for("web.audit_timeline" if to == "timeline" else "web.case", instance_id=instance_id)


# ---- break-glass ---------------------------------------------------------------------------------


@bp.route("/cases/<int:instance_id>/break-glass", methods=["GET", "POST"], endpoint="break_glass")
@security.login_required
@permissions.requires("case.break_glass")
def break_glass_page(instance_id: int):
    to = "timeline" if (request.values.get("next") == "timeline") else "case"
    minutes = current_app.config["BREAK_GLASS_MINUTES"]
    reason, errors, status = "", {}, 200
    if request.method == "POST":
        reason = request.form.get("reason", "")
        try:
            grant = break_glass.open_case(g.current_user, instance_id, reason, minutes)
        except Invalid as err:
            errors, status = err.first_messages(), 422
        else:
            if grant is not None:
                flash(
                    f"Case {instance_id} is open to you until {london(grant.expires_at)}. "
                    "Your reason and everything you view are recorded and reviewed by the service manager."
                )
            return redirect(_next_url(instance_id, to))
    else:
        state = break_glass.status(g.current_user, instance_id)
        if state == "need_to_know":
            return redirect(_next_url(instance_id, to))
        if state == "no":
            break_glass.open_case(g.current_user, instance_id, "")  # records the refusal, raises NotFound
    return render_template(
        "audit/break_glass.html", instance_id=instance_id, minutes=minutes, reason=reason, errors=errors, to=to
    ), status


@bp.get("/audit/break-glass")
@security.login_required
@permissions.requires("break_glass.review")
def break_glass_reviews():
    lists = break_glass.review_list(g.current_user)
    return render_template(
        "audit/reviews.html", waiting=lists["waiting"], reviewed=lists["reviewed"], outcomes=break_glass.OUTCOMES
    )


@bp.route("/audit/break-glass/<int:event_id>", methods=["GET", "POST"])
@security.login_required
@permissions.requires("break_glass.review")
def break_glass_review(event_id: int):
    values, errors, status = {"outcome": "", "note": ""}, {}, 200
    if request.method == "POST":
        values = {"outcome": request.form.get("outcome", ""), "note": request.form.get("note", "")}
        try:
            break_glass.review(g.current_user, event_id, values["outcome"], values["note"])
        except Invalid as err:
            errors, status = err.first_messages(), 422
        else:
            flash("Review recorded in the case history")
            return redirect(url_for("web.break_glass_reviews"))
    grant = break_glass.get_for_review(g.current_user, event_id)
    return render_template(
        "audit/review.html",
        grant=grant,
        values=values,
        errors=errors,
        routes=audit.ROUTES,
        error_list=[{"text": message, "href": f"#{name}"} for name, message in errors.items()],
        outcome_items=[
            {"value": k, "text": t, "checked": values["outcome"] == k} for k, t in break_glass.OUTCOMES.items()
        ],
    ), status


# ---- the timeline and its exports ------------------------------------------------------------------


@bp.get("/cases/<int:instance_id>/timeline")
@security.login_required
@permissions.requires("case.timeline")
def audit_timeline(instance_id: int):
    view = audit.timeline(g.current_user, instance_id)
    hide_views = request.args.get("views") == "hide"
    entries = [e for e in view["entries"] if not (hide_views and e.type in audit.VIEW_TYPES)]
    return render_template(
        "audit/timeline.html", view=view, entries=entries, hide_views=hide_views, instance_id=instance_id
    )


@bp.get("/cases/<int:instance_id>/timeline.csv")
@security.login_required
@permissions.requires("case.timeline")
def audit_export_csv(instance_id: int):
    return downloads.send(audit.export_csv(g.current_user, instance_id))


@bp.get("/cases/<int:instance_id>/timeline.pdf")
@security.login_required
@permissions.requires("case.timeline")
def audit_export_pdf(instance_id: int):
    return downloads.send(audit.export_pdf(g.current_user, instance_id))


def may_find_cases(user) -> bool:
    """The "Find a case" navigation item: MASH staff (break-glass) and auditors/managers (history)."""
    return bool(user) and (break_glass.may_break_glass(user) or audit.may_read_timeline(user))
