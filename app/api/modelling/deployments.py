"""Deploy models from outside the browser, with the same checks and the two-person rule.

POST /api/v1/deployments — multipart files (each part's file name, or field name, is its path,
e.g. `processes/leaflet.bpmn`; a bare name goes to its folder by extension) or JSON
`{path: content}` / `{"files": {path: content}, "note": "...", "replace": false}`. Valid → 201,
a draft awaiting approval (uploaded files added to the newest version's, or instead of them with
`replace`); invalid → 422 with every problem (file, element id and name, line, message). A
different service manager approves it: POST /api/v1/deployments/drafts/{id}/approve → 201, the
new version. GET /api/v1/deployments lists versions with hash, publisher, approver and diff.
"""

from __future__ import annotations

from flask import g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from marshmallow import validate as validators

from app.api.core.auth_helpers import login_required
from app.services.access import permissions
from app.services.core.errors import Invalid
from app.services.modelling import drafts, model_checks

blp = Blueprint(
    "deployments",
    __name__,
    url_prefix="/api/v1/deployments",
    description="Deployed versions of the models; deploy and approve",
)
FOLDER_BY_SUFFIX = ((".tests.json", "dmn"), (".bpmn", "processes"), (".dmn", "dmn"), (".json", "forms"))


class ProblemSchema(Schema):
    """One problem found by the model checks (app.engine.errors.Problem), ordered by severity, file, line, rule."""

    rule = fields.String(
        metadata={
            "description": "stable id of the check, e.g. bpmn-parse, missing-called-process, "
            "no-gateway-join-fork (app.engine.errors.RULES)"
        }
    )
    severity = fields.String(
        validate=validators.OneOf(["error", "warning"]),
        metadata={"description": "an error refuses a deployment; a warning is shown"},
    )
    file = fields.String()
    element = fields.String(allow_none=True, metadata={"description": "the BPMN/DMN element's id"})
    line = fields.Integer(allow_none=True)
    message = fields.String()
    element_id = fields.String(allow_none=True, metadata={"description": "the same as element (older name)"})
    element_name = fields.String(allow_none=True)


class DeploymentSchema(Schema):
    version = fields.Integer()
    bundle_hash = fields.String()
    created_at = fields.AwareDateTime()
    created_by = fields.String()
    note = fields.String(allow_none=True)
    publisher = fields.String(allow_none=True)
    approver = fields.String(allow_none=True)
    approved_at = fields.AwareDateTime(allow_none=True)
    draft_id = fields.Integer(allow_none=True)
    diff = fields.List(fields.String())
    files = fields.List(fields.String())


class DraftSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    lock_version = fields.Integer()
    base_version = fields.Integer(allow_none=True)
    version = fields.Integer(allow_none=True)
    created_by = fields.String(allow_none=True)
    submitted_by = fields.String(allow_none=True)
    authors = fields.List(
        fields.String(),
        metadata={"description": "everyone who created, edited or submitted the draft: none of them may approve it"},
    )
    reviewed_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    review_note = fields.String(allow_none=True)
    content_hash = fields.String(allow_none=True)
    files = fields.List(fields.String())
    diff = fields.List(fields.String())
    problems = fields.List(fields.Nested(ProblemSchema))


class ReviewSchema(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=validators.Length(max=1000))


class ApproveSchema(ReviewSchema):
    content_hash = fields.String(
        required=True,
        validate=validators.Length(equal=64),
        metadata={
            "description": "the draft's content_hash you reviewed (GET .../drafts/{id}); 409 if it has changed since"
        },
    )


def _path_for(name: str, field_name: str) -> str:
    for candidate in (name, field_name):
        if candidate and "/" in candidate:
            return candidate
    for suffix, folder in FOLDER_BY_SUFFIX:
        if name.endswith(suffix):
            return f"{folder}/{name}"
    return name


def _uploaded() -> tuple[dict[str, bytes], str | None, bool]:
    if request.files:
        files = {}
        for field_name, storage in request.files.items(multi=True):
            files[_path_for(storage.filename or field_name, field_name)] = storage.read(model_checks_limit() + 1)
        return files, request.form.get("note"), request.form.get("replace") in ("1", "true", "yes")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid({"files": ["Send multipart files or a JSON object {path: content}"]})
    note, replace = None, False
    if isinstance(body.get("files"), dict):
        note, replace = body.get("note"), body.get("replace", False)
        if note is not None and not isinstance(note, str):
            raise Invalid({"note": ["The note must be text"]})
        if not isinstance(replace, bool):
            raise Invalid({"replace": ["replace must be true or false"]})
        body = body["files"]
    files = {}
    for path, content in body.items():
        if not isinstance(content, str):
            raise Invalid({path: ["The content must be the file's text"]})
        files[path] = content.encode()
    return files, note, replace


# The body as the OpenAPI document describes it (the views read it themselves, see _uploaded).
UPLOAD_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["files"],
                        "additionalProperties": False,
                        "properties": {
                            "files": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                                "description": "{path: the file's text}, e.g. processes/leaflet.bpmn",
                            },
                            "note": {"type": "string", "maxLength": 1000},
                            "replace": {
                                "type": "boolean",
                                "description": "instead of (not added to) the newest version's files",
                            },
                        },
                    },
                    {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "{path: the file's text}",
                    },
                ]
            }
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "note": {"type": "string"},
                    "replace": {"type": "string", "enum": ["1", "true", "yes", "0", "false", "no"]},
                },
            }
        },
    },
}


def model_checks_limit() -> int:
    return model_checks.MAX_MODEL_BYTES


@blp.route("", methods=["GET"])
@blp.response(200, DeploymentSchema(many=True))
@login_required
@permissions.requires("deployments.read", message="Only a service manager can do this")
def list_deployments():
    """Every deployed version, newest first: hash, publisher, approver, time, diff summary."""
    return drafts.publications()


@blp.route("", methods=["POST"])
@blp.doc(requestBody=UPLOAD_BODY)
@blp.response(201, DraftSchema)
@blp.alt_response(
    422,
    description="Every problem: details.problems = [{rule, severity, file, element, line, message, "
    "element_id, element_name}]",
)
@login_required
@permissions.requires("models.edit", message="Only a service manager can do this")
def deploy():
    """Validate and submit models for approval by a different service manager."""
    files, note, replace = _uploaded()
    if not files:
        raise Invalid({"files": ["No files were sent"]})
    draft = drafts.propose(g.user, files, note, replace=replace)
    return drafts.describe(draft)


@blp.route("/validate", methods=["POST"])
@blp.doc(requestBody=UPLOAD_BODY)
@blp.response(200, ProblemSchema(many=True))
@login_required
@permissions.requires("models.edit", message="Only a service manager can do this")
def validate():
    """Check models without deploying anything: every problem (errors and warnings)."""
    files, _, replace = _uploaded()
    from app.services.modelling import deployments as deployed

    latest = deployed.latest()
    merged = {} if replace or latest is None else {f.path: f.model_file.content for f in latest.files}
    merged.update(files)
    return [p.as_dict() for p in model_checks.problems(merged)]


@blp.route("/drafts/<int:draft_id>", methods=["GET"])
@blp.response(200, DraftSchema)
@login_required
@permissions.requires("models.edit", message="Only a service manager can do this")
def get_draft(draft_id):
    return drafts.describe(drafts.get(draft_id))


@blp.route("/drafts/<int:draft_id>/approve", methods=["POST"])
@blp.arguments(ApproveSchema)
@blp.response(201, DeploymentSchema)
@login_required
@permissions.requires("models.edit", message="Only a service manager can do this")
def approve(body, draft_id):
    """A service manager who did not write, edit or submit the draft approves the content they
    reviewed (its content_hash): the draft becomes the newest version."""
    deployment = drafts.approve(draft_id, g.user, body.get("note"), content_hash=body["content_hash"])
    return next(p for p in drafts.publications() if p["version"] == deployment.version)


@blp.route("/drafts/<int:draft_id>/reject", methods=["POST"])
@blp.arguments(ReviewSchema)
@blp.response(200, DraftSchema)
@login_required
@permissions.requires("models.edit", message="Only a service manager can do this")
def reject(body, draft_id):
    return drafts.describe(drafts.reject(draft_id, g.user, body.get("note")))
