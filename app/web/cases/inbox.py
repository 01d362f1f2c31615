"""The inbox: my tasks, unclaimed tasks, all tasks for my roles; search, claim, release, assign.

The search box (the child's name or the case's reference) is a GET field so paging keeps it; what was
typed is never recorded: the page's `list_viewed` event names only the cases shown (web/audit.py), and
the production access log leaves query strings out."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from app.services.access import permissions
from app.services.cases import worklist
from app.services.core.channels import CHANNELS
from app.web import bp
from app.web.core import paging, security

RAGS = ("RED", "AMBER", "GREEN", "NONE")


@bp.get("/inbox")
@security.login_required
@permissions.requires("signed_in")
def inbox():
    query = worklist.InboxQuery(
        view=_choice("view", worklist.VIEWS, "all"),
        sort=_choice("sort", worklist.SORTS, "due"),
        rag=request.args.get("rag") if request.args.get("rag") in RAGS else None,
        channel=request.args.get("channel") or None,
        task_type=request.args.get("task") or None,
        page=paging.page_asked(),
        search=(request.args.get("q") or "").strip()[: worklist.SEARCH_LIMIT],
    )
    listing = worklist.inbox(g.current_user, query)
    g.cases_listed = {
        "instances": [r.instance.id for r in listing.rows],  # one list_viewed event (web/audit.py)
        "page": {"page": listing.page, "pages": listing.pages, "total": listing.total},
    }
    return render_template(
        "inbox/inbox.html",
        rows=listing.rows,
        listing=listing,
        query=query,
        pagination=paging.pagination(listing.page, listing.pages, lambda n: _page_url(query, n), "Inbox pages"),
        channels=sorted(CHANNELS),
        task_types=listing.task_types,
        may_assign=bool(g.current_user.roles & worklist.ASSIGNING_ROLES),
    )


def _choice(name: str, allowed: Collection[str], default: str) -> str:
    value = request.args.get(name, "")
    return value if value in allowed else default


def _page_url(query: worklist.InboxQuery, page: int) -> str:
    """This inbox (same view, filters and sort) at another page."""
    args: dict[str, Any] = {
        "view": query.view,
        "sort": query.sort,
        "rag": query.rag,
        "channel": query.channel,
        "task": query.task_type,
        "q": query.search,
        "page": page,
    }
    return url_for("web.inbox", **{k: v for k, v in args.items() if v})


@bp.post("/tasks/<string:task_id>/claim")
@security.login_required
@permissions.requires("task.work")
def claim(task_id: str):
    worklist.claim(g.current_user, task_id)
    flash("You picked up the task")
    return redirect(request.form.get("next") or url_for("web.task", task_id=task_id))


@bp.post("/tasks/<string:task_id>/release")
@security.login_required
@permissions.requires("task.release")
def release(task_id: str):
    worklist.unclaim(g.current_user, task_id)
    flash("The task is back in the shared inbox")
    return redirect(url_for("web.inbox"))


@bp.post("/tasks/<string:task_id>/assign")
@security.login_required
@permissions.requires("task.assign")
def assign(task_id: str):
    worklist.assign(g.current_user, task_id, request.form.get("assignee", ""))
    flash("Task assigned")
    return redirect(url_for("web.task", task_id=task_id))
