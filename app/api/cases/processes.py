"""GET /api/v1/processes (what the caller may start) and POST /api/v1/processes/{id}/instances."""

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.api.core.auth_helpers import login_required
from app.api.core.schemas import InstanceSchema
from app.services.access import permissions
from app.services.cases import case_view, processes

blp = Blueprint("processes", __name__, url_prefix="/api/v1/processes", description="Start any deployed process")


class StartableSchema(Schema):
    process_id = fields.String()
    name = fields.String()
    version = fields.Integer()
    roles = fields.List(fields.String())


class StartSchema(Schema):
    data = fields.Dict(load_default=dict, metadata={"description": "Named JSON values the process starts with"})


@blp.route("", methods=["GET"])
@blp.response(200, StartableSchema(many=True))
@login_required
@permissions.requires("signed_in")
def list_processes():
    """Processes the caller may start: those whose first user task is in one of the caller's roles."""
    return processes.startable(g.user)


@blp.route("/<string:process_id>/instances", methods=["POST"])
@blp.arguments(StartSchema)
@blp.response(201, InstanceSchema)
@login_required
@permissions.requires("process.start")
def start(body, process_id):
    instance = processes.start(g.user, process_id, body.get("data") or {})
    return case_view.view_instance(g.user, instance.id)
