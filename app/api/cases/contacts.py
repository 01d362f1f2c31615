"""POST /api/v1/contacts: record a contact; one front-door instance per child."""

from flask import g
from flask_smorest import Blueprint

from app.api.core.auth_helpers import login_required
from app.api.core.schemas import ContactPostSchema, ContactResponseSchema
from app.services.access import permissions
from app.services.cases import contacts

blp = Blueprint("contacts", __name__, url_prefix="/api/v1/contacts", description="Contacts")


@blp.route("", methods=["POST"])
@blp.arguments(ContactPostSchema)
@blp.response(201, ContactResponseSchema)
@login_required
@permissions.requires("contacts.start")
def create(body):
    contact, instances = contacts.start_contact(g.user, body)
    ids = [i.id for i in instances]
    return {"contact_id": contact.id, "instance_id": ids[0], "instance_ids": ids}
