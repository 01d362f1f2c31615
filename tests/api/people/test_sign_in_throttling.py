"""Issue 13 findings 5 and 8: sign-in throttling per account and per address, kept in the database
(every worker shares it), and the /refer limit moved there too, keyed by the trusted-proxy rule.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import HistoryEvent, ThrottleHit
from app.services.people import throttle
from tests.support import PASSWORD, make_people
from tests.support.pages import Browser

TOKEN = "/api/v1/auth/token"


def _token(client, username, password="wrong-password", address="10.0.0.1", forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(
        TOKEN, json={"username": username, "password": password}, headers=headers, environ_base={"REMOTE_ADDR": address}
    )


def _throttled_events() -> list[HistoryEvent]:
    return list(
        db.session.execute(
            select(HistoryEvent).where(HistoryEvent.type == "login_throttled").order_by(HistoryEvent.id)
        ).scalars()
    )


def test_five_failures_lock_the_account_for_the_window_with_retry_after(client):
    make_people(["masho"])
    for _ in range(5):
        assert _token(client, "masho").status_code == 401
    response = _token(client, "masho", PASSWORD)  # even the right password: the account waits
    assert response.status_code == 429
    assert response.json["error"] == "too_many_requests" and "Too many attempts to sign in" in response.json["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    assert response.json["details"] == {"retry_after": int(response.headers["Retry-After"])}
    assert _token(client, "masho", PASSWORD, address="10.0.0.2").status_code == 429  # per account, any address

    CLOCK.advance(timedelta(minutes=15, seconds=1))
    assert _token(client, "masho", PASSWORD).status_code == 200


def test_the_answer_is_the_same_whether_or_not_the_account_exists(client):
    make_people(["masho"])
    answers = {}
    for username in ("masho", "nobody_here"):
        for _ in range(5):
            assert _token(client, username, address=f"10.1.0.{len(answers)}").status_code == 401
        response = _token(client, username, address=f"10.1.0.{len(answers)}")
        answers[username] = (response.status_code, response.json["message"], response.json["error"])
    assert answers["masho"] == answers["nobody_here"]
    assert answers["masho"][0] == 429


def test_throttled_attempts_are_recorded_with_ids_never_passwords_or_addresses(client):
    make_people(["masho"])
    for _ in range(6):
        _token(client, "masho", password="hunter2-secret")
    for _ in range(6):
        _token(client, "ghost_user", password="hunter2-secret")
    events = _throttled_events()
    assert len(events) == 2
    known, unknown = (e.detail for e in events)
    assert known["username"] == "masho" and known["user_id"] and known["limit"] == "account" and known["via"] == "api"
    assert "username" not in unknown and "user_id" not in unknown
    text = str([e.detail for e in events])
    assert "hunter2" not in text and "10.0.0.1" not in text and "ghost_user" not in text
    # the table keeps keyed hashes only
    keys = db.session.execute(select(ThrottleHit.key_hash)).scalars().all()
    assert keys and not any("masho" in k or "10.0.0.1" in k for k in keys)


def test_twenty_failures_from_one_address_lock_the_address(client):
    make_people(["masho"])
    for n in range(20):
        assert _token(client, f"guess{n}").status_code == 401
    assert _token(client, "masho", PASSWORD).status_code == 429  # from that address
    assert _token(client, "masho", PASSWORD, address="10.9.9.9").status_code == 200  # elsewhere
    (event,) = _throttled_events()
    assert event.detail["limit"] == "address"


def test_a_success_clears_the_accounts_failures(client):
    make_people(["masho"])
    for _ in range(4):
        _token(client, "masho")
    assert _token(client, "masho", PASSWORD).status_code == 200
    for _ in range(4):
        assert _token(client, "masho").status_code == 401
    assert _token(client, "masho", PASSWORD).status_code == 200


def test_behind_a_trusted_proxy_the_last_forwarded_hop_is_the_address(client, monkeypatch):
    make_people(["masho"])
    monkeypatch.setitem(client.application.config, "TRUSTED_PROXIES", 1)
    # every request comes from the proxy's socket address; the client forges a first hop
    for n in range(20):
        _token(client, f"guess{n}", address="10.0.0.254", forwarded=f"1.2.3.{n}, 192.0.2.7")
    assert _token(client, "masho", PASSWORD, address="10.0.0.254", forwarded="192.0.2.7").status_code == 429
    assert _token(client, "masho", PASSWORD, address="10.0.0.254", forwarded="192.0.2.8").status_code == 200


def test_without_a_trusted_proxy_the_header_is_ignored(client):
    make_people(["masho"])
    for n in range(20):
        _token(client, f"guess{n}", forwarded=f"1.2.3.{n}")
    assert _token(client, "masho", PASSWORD, forwarded="8.8.8.8").status_code == 429


@pytest.mark.parametrize(
    ("remote", "header", "trusted", "expected"),
    [
        ("10.0.0.1", None, 0, "10.0.0.1"),
        ("10.0.0.1", "1.1.1.1", 0, "10.0.0.1"),
        ("10.0.0.1", "1.1.1.1, 2.2.2.2", 1, "2.2.2.2"),
        ("10.0.0.1", "1.1.1.1, 2.2.2.2", 2, "1.1.1.1"),
        ("10.0.0.1", "2.2.2.2", 2, "10.0.0.1"),  # fewer hops than proxies: not from them
        (None, None, 0, "unknown"),
    ],
)
def test_client_address(remote, header, trusted, expected):
    assert throttle.client_address(remote, header, trusted) == expected


def test_the_sign_in_page_is_throttled_the_same_way(client):
    make_people(["masho"])
    browser = Browser(client.application)
    for _ in range(5):
        response = browser.post("/sign-in", {"username": "masho", "password": "wrong-password"})
        assert response.status_code == 400
    response = browser.post("/sign-in", {"username": "masho", "password": PASSWORD})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "Too many attempts to sign in" in response.get_data(as_text=True)
    assert _throttled_events()[-1].detail["via"] == "web"
    # the API shares the same count (one table for every worker and both doors)
    assert _token(client, "masho", PASSWORD, address="127.0.0.1").status_code == 429


def _allow(app, remote, forwarded=None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    with app.test_request_context("/refer", method="POST", headers=headers, environ_base={"REMOTE_ADDR": remote}):
        return throttle.allow_referral(throttle.request_address())


def test_the_referral_limit_is_in_the_database_per_client_address(client, monkeypatch):
    app = client.application
    monkeypatch.setitem(app.config, "REFERRALS_PER_HOUR_PER_ADDRESS", 2)
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", 1)
    assert _allow(app, "10.0.0.254", "203.0.113.5") == 0
    assert _allow(app, "10.0.0.254", "203.0.113.5") == 0
    wait = _allow(app, "10.0.0.254", "203.0.113.5")
    assert 0 < wait <= 3600
    assert _allow(app, "10.0.0.254", "203.0.113.6") == 0  # another citizen behind the same proxy
    counted = db.session.execute(
        select(func.count()).select_from(ThrottleHit).where(ThrottleHit.scope == throttle.REFERRAL_ADDRESS)
    ).scalar_one()
    assert counted == 3  # in the table every worker reads, not in one process's memory
    CLOCK.advance(timedelta(hours=1, seconds=1))
    assert _allow(app, "10.0.0.254", "203.0.113.5") == 0


REFERRAL = {
    "anonymous": "no",
    "referrer_name": "A Neighbour",
    "referrer_phone": "07700 900000",
    "child-0-last_name": "Doe",
    "child-0-first_name": "Jamie",
    "child-0-born": "yes",
    "child-0-date_of_birth-day": "1",
    "child-0-date_of_birth-month": "4",
    "child-0-date_of_birth-year": "2016",
    "concerns": "Shouting every night",
    "consent": "not_sought",
    "action": "send",
}


def test_the_referral_form_answers_429_with_retry_after_past_the_limit(client, monkeypatch):
    monkeypatch.setitem(client.application.config, "REFERRALS_PER_HOUR_PER_ADDRESS", 1)
    browser = Browser(client.application)
    assert browser.post("/refer", REFERRAL, csrf_url="/refer").status_code == 200
    refused = browser.post("/refer", REFERRAL, csrf_url="/refer")
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "If a child is in danger call 999" in refused.get_data(as_text=True)
