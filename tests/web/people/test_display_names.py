"""Display names people set: a "Your name" page, the header shows it, case pages use it; demo users have
real-looking names; the oversight dashboard opens on this month to date."""

from __future__ import annotations

from app.extensions import db
from app.models import HistoryEvent
from app.services.people import users
from tests.support.flow import Flow
from tests.support.pages import Browser, soup


def _header_name(page) -> str:
    link = page.select_one(".govuk-service-navigation").find("a", href="/account/name")
    assert link is not None, "the header links to the Your name page"
    return link.get_text(" ", strip=True)


def test_a_person_sets_the_name_they_are_shown_by(ctx):
    browser = Browser(ctx, "masho")
    page = soup(browser.get("/inbox"))
    assert _header_name(page).startswith("masho")
    form = soup(browser.get("/account/name"))
    assert form.h1.get_text(strip=True) == "Your name" and form.find("input", id="display_name")["value"] == "masho"
    response = browser.post("/account/name", {"display_name": "  Priya   Shah "})
    assert response.status_code == 302
    page = soup(browser.get("/inbox"))
    assert _header_name(page).startswith("Priya Shah")
    assert users.get_by_username("masho").display_name == "Priya Shah"
    changed = db.session.execute(
        db.select(HistoryEvent).where(HistoryEvent.type == "display_name_changed")
    ).scalar_one()
    assert "Priya" not in str(changed.detail)  # the history says it changed, not what to


def test_a_blank_or_overlong_name_is_refused_with_a_gov_uk_error(ctx):
    browser = Browser(ctx, "dm")
    for value, message in (("   ", "Enter your name"), ("x" * 101, "Your name must be 100 characters or fewer")):
        response = browser.post("/account/name", {"display_name": value}, csrf_url="/account/name")
        assert response.status_code == 422
        page = soup(response)
        assert page.title.get_text(strip=True).startswith("Error:")
        assert page.select_one(".govuk-error-summary a[href='#display_name']").get_text(strip=True) == message
    assert users.get_by_username("dm").display_name == "dm"


def test_case_pages_show_people_by_their_names(client, ctx):
    flow = Flow(client)
    users.set_display_name(users.get_by_username("masho"), "Priya Shah")
    flow.intake()
    page = soup(Browser(ctx, "mgr").get(f"/cases/{flow.instance_id}")).get_text(" ", strip=True)
    assert "completed by Priya Shah" in page and "completed by masho" not in page


def test_demo_users_get_real_looking_names():
    from app.cli import DEMO_NAMES, DEMO_USERS

    assert set(DEMO_NAMES) == set(DEMO_USERS)
    for username, name in DEMO_NAMES.items():
        assert name != username.replace("_", " ").title() and len(name.split()) >= 2, username


def test_oversight_opens_on_this_month_to_date(ctx):
    from app.engine.clock import CLOCK
    from app.services.reporting.oversight import LONDON

    today = CLOCK.now().astimezone(LONDON).date()
    page = soup(Browser(ctx, "auditor").get("/oversight"))
    assert page.find("h2", string=f"1 {today:%B %Y} to {today.day} {today:%B %Y}") is not None
