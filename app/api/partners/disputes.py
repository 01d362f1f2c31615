"""Disputes: raise one on a case; the service manager's review list."""

from flask import g
from flask_smorest import Blueprint

from app.api.core.auth_helpers import login_required
from app.api.core.schemas import DisputeCreatedSchema, DisputePostSchema, DisputeReviewSchema
from app.services.access import permissions
from app.services.partners import disputes

blp = Blueprint("disputes", __name__, url_prefix="/api/v1", description="Dispute escalation (spec §7)")


@blp.route("/instances/<int:instance_id>/disputes", methods=["POST"])
@blp.arguments(DisputePostSchema)
@blp.response(201, DisputeCreatedSchema)
@login_required
@permissions.requires("case.dispute")
def raise_dispute(body, instance_id):
    dispute = disputes.raise_dispute(
        g.user,
        instance_id,
        body["disputed_decision"],
        body["position"],
        named_team=body.get("named_team"),
        named_agency=body.get("named_agency"),
    )
    return {"dispute_instance_id": dispute.id}


@blp.route("/disputes", methods=["GET"])
@blp.response(200, DisputeReviewSchema(many=True))
@login_required
@permissions.requires("disputes.review")
def review():
    return disputes.review_list(g.user)
