"""Flask extensions as module-level singletons, initialised in create_app()."""

from typing import TYPE_CHECKING

import marshmallow as ma
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)

# The models' base class. db.Model is made at run time (Flask-SQLAlchemy adds table names and bind
# keys to Base), so a type checker cannot see it; to mypy it is Base, which it is built on.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()


class ErrorBodySchema(ma.Schema):
    """What every API error answers (app.error_pages), documented as the OpenAPI default response."""

    error = ma.fields.String(
        required=True,
        metadata={
            "description": "A code: bad_request, unauthorised, forbidden, not_found, method_not_allowed, conflict, "
            "too_large, invalid, process_error, too_many_requests, server_error, ..."
        },
    )
    message = ma.fields.String(required=True, metadata={"description": "What went wrong, for a person to read"})
    details = ma.fields.Dict(
        required=True,
        metadata={
            "description": "More: {errors: {field: [message]}} for 422, {problems: [...]} for model problems, "
            "{retry_after: seconds} for 429; {} when there is nothing more"
        },
    )


class MashApi(Api):
    ERROR_SCHEMA = ErrorBodySchema  # not flask-smorest's {code, status, message, errors}


api = MashApi()
