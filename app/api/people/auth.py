"""POST /api/v1/auth/token and /auth/logout."""

from flask import current_app, g
from flask_smorest import Blueprint

from app.api.core.auth_helpers import login_required, public
from app.api.core.schemas import TokenPostSchema, TokenResponseSchema
from app.services.access import permissions
from app.services.people import throttle, users

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign in and out")


@blp.route("/token", methods=["POST"])
@blp.arguments(TokenPostSchema)
@blp.response(200, TokenResponseSchema)
@blp.alt_response(
    429,
    description="Too many failed attempts for this account or from this address: wait "
    "Retry-After seconds (the same answer whether or not the account exists)",
)
@public
@permissions.requires("public")
def token(body):
    user = throttle.sign_in(body["username"], body["password"], throttle.request_address(), via="api")
    value, row = users.issue_token(user, current_app.config["TOKEN_LIFETIME_MINUTES"])
    return {"access_token": value, "token_type": "Bearer", "expires_at": row.expires_at}


@blp.route("/logout", methods=["POST"])
@blp.response(204)
@login_required
@permissions.requires("signed_in")
def logout():
    users.revoke_token(g.token)
