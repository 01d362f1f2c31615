"""marshmallow schemas for the API, named by direction. Unknown fields are rejected (marshmallow default)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.services.core.channels import CHANNELS
from app.services.core.roles import AGENCIES

REQUEST_TYPES = ("advice", "service_request", "information_request", "domestic_abuse")
CONSENT = ("obtained", "implied", "refused", "not_sought")


class TokenPostSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class TokenResponseSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_at = fields.AwareDateTime()


class ReferrerSchema(Schema):
    name = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.Email(allow_none=True)
    relationship = fields.String(allow_none=True)
    anonymous = fields.Boolean(load_default=False)


class ChildSchema(Schema):
    first_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    last_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    date_of_birth = fields.Date(allow_none=True)
    expected_date_of_delivery = fields.Date(allow_none=True)
    gender = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    request_type = fields.String(validate=validate.OneOf(REQUEST_TYPES))
    information_only = fields.Boolean()
    red_criteria = fields.List(fields.String())
    manager_attention_criteria = fields.List(fields.String())

    @validates_schema
    def _dob_or_edd(self, data, **kwargs):
        if not data.get("date_of_birth") and not data.get("expected_date_of_delivery"):
            raise ValidationError(
                "Enter a date of birth, or an expected date of delivery for an unborn child", "date_of_birth"
            )


class AdultSchema(Schema):
    first_name = fields.String(allow_none=True)
    last_name = fields.String(required=True)
    date_of_birth = fields.Date(allow_none=True)
    relationship = fields.String(allow_none=True)
    resident = fields.Boolean(load_default=True)


class ContactPostSchema(Schema):
    received_at = fields.AwareDateTime(
        metadata={"description": "When the contact arrived (ISO 8601 with offset); default now"}
    )
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    referrer = fields.Nested(ReferrerSchema, load_default=dict)
    child = fields.Nested(ChildSchema)
    children = fields.List(fields.Nested(ChildSchema), validate=validate.Length(min=1, max=20))
    adults = fields.List(fields.Nested(AdultSchema), load_default=list)
    summary = fields.String(allow_none=True, validate=validate.Length(max=20000))
    request_type = fields.String(allow_none=True, validate=validate.OneOf(REQUEST_TYPES))
    information_only = fields.Boolean(load_default=False)
    red_criteria = fields.List(fields.String(), load_default=list)
    manager_attention_criteria = fields.List(fields.String(), load_default=list)
    consent = fields.String(allow_none=True, validate=validate.OneOf(CONSENT))

    @validates_schema
    def _one_of_child_children(self, data, **kwargs):
        if bool(data.get("child")) == bool(data.get("children")):
            raise ValidationError("Give either child or children (a list), not both and not neither", "child")


class ContactResponseSchema(Schema):
    contact_id = fields.Integer()
    instance_id = fields.Integer()
    instance_ids = fields.List(fields.Integer())


class FormSchema(Schema):
    name = fields.String(allow_none=True, metadata={"description": "The form's file in the deployed model set"})
    href = fields.String(metadata={"description": "Where to GET the form (its JSON Schema and UI schema)"})
    schema = fields.Dict(metadata={"description": "Inline only with ?include=form, or from href"})
    ui_schema = fields.Dict(metadata={"description": "Inline only with ?include=form, or from href"})


class TaskSchema(Schema):
    id = fields.String()
    instance_id = fields.Integer()
    bpmn_id = fields.String()
    title = fields.String()
    role = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    agency = fields.String(allow_none=True, validate=validate.OneOf(AGENCIES))
    due_at = fields.AwareDateTime(allow_none=True)
    rag = fields.String(allow_none=True)
    form = fields.Nested(
        FormSchema,
        metadata={
            "description": "The task's form by reference (name, href); schema and ui_schema inline with ?include=form"
        },
    )
    data = fields.Dict()


MAX_TASKS_PAGE = 500


class TaskQuerySchema(Schema):
    instance_id = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1, error="There is no such case"),
        metadata={"description": "Only this case's tasks"},
    )
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(
            min=1,
            max=MAX_TASKS_PAGE,
            error=f"Ask for 1 to {MAX_TASKS_PAGE} tasks a page; follow the Link header (rel=next) for the rest",
        ),
        metadata={"description": f"Tasks per page (default 100, at most {MAX_TASKS_PAGE})"},
    )
    cursor = fields.String(
        validate=validate.Length(max=500),
        metadata={
            "description": "Opaque: the next page's position, from the Link header (rel=next) of the previous page"
        },
    )
    include = fields.String(
        validate=validate.OneOf(["form"], error="The only thing to include is form"),
        metadata={"description": "form: each task's form schema and UI schema inline"},
    )


class TaskCompleteSchema(Schema):
    data = fields.Dict(required=True, metadata={"description": "The form's fields"})


class ReadyTaskSchema(Schema):
    id = fields.String()
    bpmn_id = fields.String()
    title = fields.String()
    role = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)


class HouseholdMemberSchema(Schema):
    id = fields.Integer()
    this = fields.Boolean()
    may_view = fields.Boolean()
    name = fields.String(allow_none=True)
    date_of_birth = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)


class InstanceSchema(Schema):
    id = fields.Integer()
    process_id = fields.String()
    version = fields.Integer()
    status = fields.String()
    rag = fields.String(allow_none=True)
    route = fields.String(allow_none=True)
    contact_route = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    outcome_due_at = fields.AwareDateTime(allow_none=True)
    decision_due_at = fields.String(allow_none=True)
    is_referral = fields.Boolean()
    contact_id = fields.Integer(allow_none=True)
    ready_tasks = fields.List(fields.Nested(ReadyTaskSchema))
    data = fields.Dict()
    household = fields.List(
        fields.Nested(HouseholdMemberSchema),
        metadata={
            "description": "The children of the same contact (App. D 2.7): "
            "name and link only where you may see that case"
        },
    )


class HistoryEventSchema(Schema):
    at = fields.AwareDateTime()
    type = fields.String()
    actor = fields.String(allow_none=True)
    bpmn_id = fields.String(allow_none=True)
    detail = fields.Dict()


class DisputePostSchema(Schema):
    disputed_decision = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    position = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    named_team = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "The receiving team the dispute is with (its manager joins level 1)"},
    )
    named_agency = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "The partner agency the dispute is with (its manager joins level 1)"},
    )


class DisputeCreatedSchema(Schema):
    dispute_instance_id = fields.Integer()


class DisputeReviewSchema(Schema):
    id = fields.Integer()
    case_instance_id = fields.Integer(allow_none=True)
    raised_by = fields.String(allow_none=True)
    raised_at = fields.String(allow_none=True)
    disputed_decision = fields.String(allow_none=True)
    level = fields.Integer(allow_none=True)
    status = fields.String()
    resolution = fields.String(allow_none=True)
    hours_taken = fields.Float()


class HandoverSchema(Schema):
    instance_id = fields.Integer()
    contact_id = fields.Integer(allow_none=True)
    package = fields.Dict()
    sensitive_information_held = fields.List(fields.Dict())
    lawful_basis = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)
