"""GET /api/v1/tasks and POST /api/v1/tasks/{id}/complete."""
from flask import g
from flask_smorest import Blueprint

from app.api.auth_helpers import login_required
from app.api.schemas import InstanceSchema, TaskCompleteSchema, TaskQuerySchema, TaskSchema
from app.services import cases

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="The caller's inbox")


@blp.route("", methods=["GET"])
@blp.arguments(TaskQuerySchema, location="query")
@blp.response(200, TaskSchema(many=True))
@login_required
def list_tasks(query):
    return cases.inbox(g.user, query.get("instance_id"))


@blp.route("/<string:task_id>/complete", methods=["POST"])
@blp.arguments(TaskCompleteSchema)
@blp.response(200, InstanceSchema)
@login_required
def complete(body, task_id):
    instance = cases.complete_task(g.user, task_id, body["data"])
    return cases.view_instance(g.user, instance.id, log_view=False)


@blp.route("/<string:task_id>/message", methods=["POST"])
@blp.arguments(TaskCompleteSchema)
@blp.response(200, InstanceSchema)
@login_required
def send_message(body, task_id):
    """Send the task's message into the process (e.g. escalate heightened risk now); the task stays open."""
    instance = cases.send_task_message(g.user, task_id, body["data"])
    return cases.view_instance(g.user, instance.id, log_view=False)
