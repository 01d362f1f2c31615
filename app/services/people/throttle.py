"""Rate limits kept in the database, so every gunicorn worker shares them (issue 13).

- Sign-in (API token and the sign-in page): after SIGN_IN_FAILURES_PER_ACCOUNT failures for one
  username, or SIGN_IN_FAILURES_PER_ADDRESS from one client address, within SIGN_IN_WINDOW_MINUTES,
  every further attempt is refused with 429 and Retry-After, before the password is checked. The
  answer is the same whether or not the account exists; each refused attempt is recorded in
  history (`login_throttled`: the user id and username when the account exists, never a password,
  never the address). A successful sign-in clears that account's failures.
- The public referral form: REFERRALS_PER_HOUR_PER_ADDRESS referrals per client address an hour.

The client address is the socket address, or with TRUSTED_PROXIES = N the Nth address from the
right of X-Forwarded-For (the one our own proxy added); a client cannot forge the hops our
proxies append. Keys are stored as an HMAC of scope and value (no usernames or addresses in the
table); rows older than a day are deleted as new ones are written.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import timedelta

from flask import current_app, request
from sqlalchemy import delete, select

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import ThrottleHit, User
from app.services.core import history
from app.services.core.errors import Throttled, Unauthorised
from app.services.core.events import EventType
from app.services.core.transaction import unit_of_work
from app.services.people import users

SIGN_IN_ACCOUNT = "sign_in_account"
SIGN_IN_ADDRESS = "sign_in_address"
REFERRAL_ADDRESS = "referral_address"
KEEP = timedelta(days=1)  # longer than any window
SIGN_IN_MESSAGE = (
    "Too many attempts to sign in. Wait {wait} and try again. If you have forgotten your password, "
    "ask your administrator to reset it."
)


def client_address(remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int) -> str:
    """The caller's address: the socket's, or behind N trusted proxies the Nth X-Forwarded-For hop
    from the right. A header with fewer hops than trusted proxies did not come through them: the
    socket address is used."""
    if trusted_proxies > 0 and forwarded_for:
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        if len(hops) >= trusted_proxies:
            return hops[-trusted_proxies][:100]
    return (remote_addr or "unknown")[:100]


def request_address() -> str:
    """The current request's client address under the TRUSTED_PROXIES rule."""
    return client_address(
        request.remote_addr, request.headers.get("X-Forwarded-For"), current_app.config["TRUSTED_PROXIES"]
    )


def _key(scope: str, value: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"{scope}\0{value}".encode(), hashlib.sha256).hexdigest()


def _wait(scope: str, value: str, limit: int, window: timedelta) -> int:
    """Seconds until one more attempt is allowed (0: allowed now)."""
    now = CLOCK.now()
    times = list(
        db.session.execute(
            select(ThrottleHit.at)
            .where(
                ThrottleHit.scope == scope, ThrottleHit.key_hash == _key(scope, value), ThrottleHit.at > now - window
            )
            .order_by(ThrottleHit.at)
        ).scalars()
    )
    if len(times) < limit:
        return 0
    frees_at = times[len(times) - limit] + window  # when enough of them have aged out
    return max(1, math.ceil((frees_at - now).total_seconds()))


def _hit(*pairs: tuple[str, str]) -> None:
    now = CLOCK.now()
    with unit_of_work():
        db.session.execute(delete(ThrottleHit).where(ThrottleHit.at < now - KEEP))
        for scope, value in pairs:
            db.session.add(ThrottleHit(scope=scope, key_hash=_key(scope, value), at=now))


def _in_words(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _account(username: str) -> str:
    return username.strip().lower()[:200]


def sign_in(username: str, password: str, address: str, *, via: str) -> User:
    """users.authenticate behind the per-account and per-address limits (raises Throttled or Unauthorised)."""
    config = current_app.config
    window = timedelta(minutes=config["SIGN_IN_WINDOW_MINUTES"])
    account = _account(username)
    for scope, value, limit in (
        (SIGN_IN_ACCOUNT, account, config["SIGN_IN_FAILURES_PER_ACCOUNT"]),
        (SIGN_IN_ADDRESS, address, config["SIGN_IN_FAILURES_PER_ADDRESS"]),
    ):
        wait = _wait(scope, value, limit, window)
        if wait:
            known = users.get_by_username(username)
            detail = {"limit": scope.removeprefix("sign_in_"), "via": via, "retry_after": wait}
            if known is not None:
                detail.update({"user_id": known.id, "username": known.username})
            with unit_of_work():
                history.record(EventType.LOGIN_THROTTLED, detail=detail)
            raise Throttled(SIGN_IN_MESSAGE.format(wait=_in_words(wait)), wait)
    try:
        user = users.authenticate(username, password)
    except Unauthorised:
        _hit((SIGN_IN_ACCOUNT, account), (SIGN_IN_ADDRESS, address))
        raise
    with unit_of_work():  # a successful sign-in clears the account's failures (not the address's)
        db.session.execute(
            delete(ThrottleHit).where(
                ThrottleHit.scope == SIGN_IN_ACCOUNT, ThrottleHit.key_hash == _key(SIGN_IN_ACCOUNT, account)
            )
        )
    return user


def allow_referral(address: str) -> int:
    """Count one online referral from `address`: 0 when allowed (and counted), else the seconds to wait."""
    wait = _wait(REFERRAL_ADDRESS, address, current_app.config["REFERRALS_PER_HOUR_PER_ADDRESS"], timedelta(hours=1))
    if wait:
        return wait
    _hit((REFERRAL_ADDRESS, address))
    return 0
