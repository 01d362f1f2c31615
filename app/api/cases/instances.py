"""GET /api/v1/instances/{id} and its history."""

from flask import g
from flask_smorest import Blueprint

from app.api.core.auth_helpers import login_required
from app.api.core.schemas import HandoverSchema, HistoryEventSchema, InstanceSchema
from app.services.access import permissions
from app.services.cases import case_view, handover

blp = Blueprint("instances", __name__, url_prefix="/api/v1/instances", description="Cases")


@blp.route("/<int:instance_id>", methods=["GET"])
@blp.response(200, InstanceSchema)
@login_required
@permissions.requires("case.read")
def get(instance_id):
    return case_view.view_instance(g.user, instance_id)


@blp.route("/<int:instance_id>/history", methods=["GET"])
@blp.response(200, HistoryEventSchema(many=True))
@login_required
@permissions.requires("case.read")
def history(instance_id):
    return case_view.instance_history(g.user, instance_id)


@blp.route("/<int:instance_id>/handover", methods=["GET"])
@blp.response(200, HandoverSchema)
@login_required
@permissions.requires("case.handover")
def handover_package(instance_id):
    """The handover package for the receiving team (recorded as a disclosure); never sensitive information."""
    return handover.package(g.user, instance_id)
