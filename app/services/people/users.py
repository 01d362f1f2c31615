"""Users, passwords (argon2) and bearer tokens stored as hashes so logout really revokes them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import ApiToken, User, UserRole
from app.services.core import history
from app.services.core.errors import Invalid, Unauthorised
from app.services.core.events import EventType
from app.services.core.roles import AGENCIES, AGENCY_ROLES, ROLES, TEAM_ROLES
from app.services.core.transaction import unit_of_work

_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def use_fast_hashing_for_tests() -> None:
    """Cheap argon2 parameters: the suite creates hundreds of users. Never called outside tests."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


def create_user(
    username: str,
    password: str,
    roles: list[str],
    *,
    display_name: str | None = None,
    agency: str | None = None,
    team: str | None = None,
) -> User:
    errors: dict[str, list[str]] = {}
    if not username or not username.replace("_", "").replace(".", "").isalnum():
        errors["username"] = ["Enter a username of letters, numbers, dots or underscores"]
    if len(password or "") < 10:
        errors["password"] = ["Enter a password of at least 10 characters"]
    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown:
        errors["roles"] = [f"Unknown role(s): {', '.join(unknown)}" if unknown else "Give at least one role"]
    if set(roles) & AGENCY_ROLES and agency not in AGENCIES:
        errors["agency"] = [f"Partner roles need an agency, one of: {', '.join(AGENCIES)}"]
    if set(roles) & TEAM_ROLES and not team:
        errors["team"] = ["Receiving-team roles need a team"]
    if db.session.execute(select(User.id).where(User.username == username)).first():
        errors["username"] = ["That username is taken"]
    if errors:
        raise Invalid(errors)
    with unit_of_work():
        user = User(
            username=username,
            display_name=display_name or username,
            password_hash=_hasher.hash(password),
            agency=agency,
            team=team,
        )
        user.role_rows = [UserRole(role=r) for r in sorted(set(roles))]
        db.session.add(user)
        db.session.flush()
        history.record(EventType.USER_CREATED, detail={"user_id": user.id, "roles": sorted(set(roles))})
    return user


def get_by_username(username: str) -> User | None:
    return db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def authenticate(username: str, password: str) -> User:
    user = get_by_username(username)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerifyMismatchError, InvalidHashError):
        user = None
    if user is None or not user.active:
        with unit_of_work():
            history.record(EventType.LOGIN_FAILED, detail={"username_known": user is not None})
        raise Unauthorised("Incorrect username or password")
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, lifetime_minutes: int) -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    with unit_of_work():
        row = ApiToken(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=CLOCK.now(),
            expires_at=CLOCK.now() + timedelta(minutes=lifetime_minutes),
        )
        db.session.add(row)
        history.record(EventType.LOGIN, actor=user, detail={"method": "api_token"})
    return token, row


def user_for_token(token: str) -> User:
    # one statement: the token, its user and the user's roles (outer join: a user may hold none)
    row = (
        db.session.execute(
            select(ApiToken)
            .join(ApiToken.user)
            .outerjoin(User.role_rows)
            .options(contains_eager(ApiToken.user).contains_eager(User.role_rows))
            .where(ApiToken.token_hash == _token_hash(token))
        )
        .unique()
        .scalar_one_or_none()
    )
    if row is None or row.revoked_at is not None or row.expires_at <= CLOCK.now() or not row.user.active:
        raise Unauthorised("Sign in again: the token is missing, expired or revoked")
    return row.user


def revoke_token(token: str) -> None:
    with unit_of_work():
        row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == _token_hash(token))).scalar_one_or_none()
        if row is not None and row.revoked_at is None:
            row.revoked_at = CLOCK.now()
            history.record(EventType.LOGOUT, actor=row.user, detail={"method": "api_token"})


DISPLAY_NAME_MAX = 100


def set_display_name(user: User, display_name: str) -> User:
    """The name a person chooses to be shown by (header, tasks, case files): what colleagues read.
    The history records that it changed, not the name."""
    name = " ".join((display_name or "").split())
    if not name:
        raise Invalid({"display_name": ["Enter your name"]})
    if len(name) > DISPLAY_NAME_MAX:
        raise Invalid({"display_name": [f"Your name must be {DISPLAY_NAME_MAX} characters or fewer"]})
    if any(not ch.isprintable() for ch in name):
        raise Invalid({"display_name": ["Your name must only include letters, spaces and punctuation"]})
    if name == user.display_name:
        return user
    with unit_of_work():
        user.display_name = name
        history.record(EventType.DISPLAY_NAME_CHANGED, actor=user, detail={"user_id": user.id})
    return user
