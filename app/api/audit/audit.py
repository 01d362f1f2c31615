"""Case history for auditors and managers (timeline, CSV/PDF export) and break-glass, over the API.

Reads of the timeline are recorded as `viewed` by the request hook; exports as `exported`."""

from flask import current_app, g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import downloads
from app.api.core.auth_helpers import login_required
from app.services.access import break_glass, permissions
from app.services.audit import audit

blp = Blueprint("audit_api", __name__, url_prefix="/api/v1", description="Case history, exports and break-glass")


class ChangeSchema(Schema):
    field = fields.String()
    before = fields.String(allow_none=True)
    after = fields.String()
    restricted = fields.Boolean()


class TimelineEntrySchema(Schema):
    id = fields.Integer()
    at = fields.AwareDateTime()
    type = fields.String()
    label = fields.String()
    headline = fields.String()
    actor = fields.String(allow_none=True)
    source = fields.String()
    instance_id = fields.Integer(allow_none=True)
    bpmn_id = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    lines = fields.List(fields.Tuple((fields.String(), fields.String())))
    changes = fields.List(fields.Nested(ChangeSchema))
    unchanged = fields.List(fields.String())
    hash = fields.String()
    prev_hash = fields.String(allow_none=True)


class ExportQuerySchema(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "pdf"]))


class BreakGlassPostSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=break_glass.REASON_MAX))


class GrantSchema(Schema):
    event_id = fields.Integer()
    instance_id = fields.Integer()
    user = fields.String()
    roles = fields.List(fields.String())
    reason = fields.String()
    opened_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime()
    active = fields.Boolean()
    review = fields.Dict(allow_none=True)


class BreakGlassOpenedSchema(Schema):
    needed = fields.Boolean(metadata={"description": "false: the caller already has need-to-know"})
    grant = fields.Nested(GrantSchema, allow_none=True)


class ReviewListSchema(Schema):
    waiting = fields.List(fields.Nested(GrantSchema))
    reviewed = fields.List(fields.Nested(GrantSchema))


class ReviewPostSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(sorted(break_glass.OUTCOMES)))
    note = fields.String(load_default="", validate=validate.Length(max=break_glass.REASON_MAX))


@blp.route("/instances/<int:instance_id>/timeline", methods=["GET"])
@blp.response(200, TimelineEntrySchema(many=True))
@login_required
@permissions.requires("case.timeline")
def timeline(instance_id):
    """Every event of the case and its disputes, oldest first, fields before → after (auditors and managers)."""
    return audit.timeline(g.user, instance_id)["entries"]


@blp.route("/instances/<int:instance_id>/export", methods=["GET"])
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, description="text/csv or application/pdf attachment; recorded as an `exported` event")
@login_required
@permissions.requires("case.timeline")
def export(query, instance_id):
    exporter = audit.export_pdf if query["format"] == "pdf" else audit.export_csv
    return downloads.send(exporter(g.user, instance_id))


@blp.route("/instances/<int:instance_id>/break-glass", methods=["POST"])
@blp.arguments(BreakGlassPostSchema)
@blp.response(201, BreakGlassOpenedSchema)
@login_required
@permissions.requires("case.break_glass")
def open_case(body, instance_id):
    """Open a case outside your need-to-know (MASH staff only), with the reason; time-boxed and reviewed."""
    minutes = current_app.config["BREAK_GLASS_MINUTES"]
    grant = break_glass.open_case(g.user, instance_id, body["reason"], minutes)
    return {"needed": grant is not None, "grant": grant}


@blp.route("/break-glass", methods=["GET"])
@blp.response(200, ReviewListSchema)
@login_required
@permissions.requires("break_glass.review")
def reviews():
    """Every break-glass access, waiting for review first (service manager)."""
    return break_glass.review_list(g.user)


@blp.route("/break-glass/<int:event_id>/review", methods=["POST"])
@blp.arguments(ReviewPostSchema)
@blp.response(200, GrantSchema)
@login_required
@permissions.requires("break_glass.review")
def review(body, event_id):
    """The service manager's finding: appropriate / not_appropriate (a note is required for the latter)."""
    return break_glass.review(g.user, event_id, body["outcome"], body["note"])
