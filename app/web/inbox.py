"""The inbox: my tasks, unclaimed tasks, all tasks for my roles; claim, release, assign."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from app.services import worklist
from app.web import bp, security
from app.web.timefmt import due_phrase, london

RAGS = ("RED", "AMBER", "GREEN", "NONE")


@bp.get("/inbox")
@security.login_required
def inbox():
    query = worklist.InboxQuery(
        view=request.args.get("view") if request.args.get("view") in worklist.VIEWS else "all",
        sort=request.args.get("sort") if request.args.get("sort") in worklist.SORTS else "due",
        rag=request.args.get("rag") if request.args.get("rag") in RAGS else None,
        channel=request.args.get("channel") or None,
        task_type=request.args.get("task") or None,
    )
    rows = worklist.rows(g.current_user, query)
    everything = worklist.rows(g.current_user, worklist.InboxQuery())
    return render_template("inbox/inbox.html", rows=rows, query=query, due_phrase=due_phrase, london=london,
                           channels=sorted({r.channel for r in everything if r.channel}),
                           task_types=sorted({(r.task.bpmn_id, r.task.title) for r in everything}),
                           may_assign=bool(g.current_user.roles & worklist.ASSIGNING_ROLES))


@bp.post("/tasks/<string:task_id>/claim")
@security.login_required
def claim(task_id: str):
    worklist.claim(g.current_user, task_id)
    flash("You picked up the task")
    return redirect(request.form.get("next") or url_for("web.task", task_id=task_id))


@bp.post("/tasks/<string:task_id>/release")
@security.login_required
def release(task_id: str):
    worklist.unclaim(g.current_user, task_id)
    flash("The task is back in the shared inbox")
    return redirect(url_for("web.inbox"))


@bp.post("/tasks/<string:task_id>/assign")
@security.login_required
def assign(task_id: str):
    worklist.assign(g.current_user, task_id, request.form.get("assignee", ""))
    flash("Task assigned")
    return redirect(url_for("web.task", task_id=task_id))
