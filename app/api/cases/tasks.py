"""GET /api/v1/tasks (paged), a task's form, claiming, and POST /api/v1/tasks/{id}/complete."""

from typing import Any

from flask import g, request, url_for
from flask_smorest import Blueprint

from app.api.core.auth_helpers import login_required
from app.api.core.schemas import (
    FormSchema,
    InstanceSchema,
    ReadyTaskSchema,
    TaskCompleteSchema,
    TaskQuerySchema,
    TaskSchema,
)
from app.services.access import permissions
from app.services.cases import case_view, completion, task_forms, task_messages, worklist
from app.services.partners import partner_request

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="The caller's inbox")

PAGING_HEADERS = {
    "Link": {
        "description": 'The next page: `<url>; rel="next"` (absent on the last page)',
        "schema": {"type": "string"},
    },
    "X-Total-Count": {"description": "How many tasks the whole list has", "schema": {"type": "integer"}},
}


@blp.route("", methods=["GET"])
@blp.arguments(TaskQuerySchema, location="query")
@blp.response(200, TaskSchema(many=True), headers=PAGING_HEADERS)
@login_required
@permissions.requires("signed_in")
def list_tasks(query):
    """Ready tasks the caller may work on, soonest due first, a page at a time (never cut off: follow
    Link rel=next). Each task names its form and links to it; `?include=form` puts it inline."""
    page = worklist.inbox(
        g.user,
        worklist.InboxQuery(instance_id=query.get("instance_id"), keyset=True, cursor=query.get("cursor")),
        page_size=query["limit"],
    )
    items = worklist.task_items(g.user, page.rows, include_form=query.get("include") == "form")
    for item in items:
        item["form"]["href"] = url_for("tasks.task_form", task_id=item["id"])
    g.cases_listed = {
        "instances": [item["instance_id"] for item in items],
        "page": {"limit": query["limit"], "cursor": query.get("cursor"), "total": page.total},
    }
    headers = {"X-Total-Count": str(page.total)}
    if page.next_cursor:
        args: dict[str, Any] = {**request.args.to_dict(), "cursor": page.next_cursor}
        headers["Link"] = f'<{url_for("tasks.list_tasks", **args)}>; rel="next"'
    return items, 200, headers


@blp.route("/<string:task_id>/form", methods=["GET"])
@blp.response(200, FormSchema)
@login_required
@permissions.requires("task.read")
def task_form(task_id):
    """The task's form: JSON Schema and UI schema (what a task list item's form.href points to)."""
    return {**task_forms.form_for_task(g.user, task_id), "href": url_for("tasks.task_form", task_id=task_id)}


@blp.route("/<string:task_id>/claim", methods=["POST"])
@blp.response(200, ReadyTaskSchema)
@blp.alt_response(409, description="Someone else holds the task (details.claimed_by: who), or it is done")
@login_required
@permissions.requires("task.work")
def claim(task_id):
    """Pick up the task: exactly one caller holds it; the others get 409 naming who does."""
    return worklist.claim(g.user, task_id)


@blp.route("/<string:task_id>/complete", methods=["POST"])
@blp.arguments(TaskCompleteSchema)
@blp.response(200, InstanceSchema)
@blp.alt_response(
    409,
    description="Already done, changed at the same time, or held by someone else "
    "(details.claimed_by: who; a manager may assign it)",
)
@login_required
@permissions.requires("task.work")
def complete(body, task_id):
    if partner_request.applies(g.user):  # a partner reads its own open requests back, never the case
        return partner_request.echo(g.user, completion.complete_task(g.user, task_id, body["data"]))
    # the case as it now stands, built in the completing transaction (no second read after the commit)
    return completion.complete_task_and_view(g.user, task_id, body["data"])


@blp.route("/<string:task_id>/message", methods=["POST"])
@blp.arguments(TaskCompleteSchema)
@blp.response(200, InstanceSchema)
@login_required
@permissions.requires("task.work")
def send_message(body, task_id):
    """Send the task's message into the process (e.g. escalate heightened risk now); the task stays open."""
    instance = task_messages.send_task_message(g.user, task_id, body["data"])
    if partner_request.applies(g.user):  # a partner reads its own open requests back, never the case
        return partner_request.echo(g.user, instance)
    return case_view.view_instance(g.user, instance.id)
