"""The oversight dashboard page: who may open it, the period form, charts with text, CSV downloads."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.extensions import db
from app.models import Contact, HistoryEvent
from app.services.core.transaction import unit_of_work
from tests.support.pages import Browser, soup

NOVEMBER = {
    "from-day": "1",
    "from-month": "11",
    "from-year": "2026",
    "to-day": "30",
    "to-month": "11",
    "to-year": "2026",
}


def _contacts():
    with unit_of_work():
        for channel, day in (("phone", 2), ("phone", 3), ("email", 4)):
            db.session.add(
                Contact(
                    received_at=datetime(2026, 11, day, 10, 0, tzinfo=UTC),
                    channel=channel,
                    payload={"referrer": {"agency": "health"}},
                )
            )


def test_a_manager_sees_the_figures_for_a_period_with_charts_and_csv(ctx):
    _contacts()
    browser = Browser(ctx, "mgr")
    start = soup(browser.get("/inbox"))
    assert start.find("a", href="/oversight").get_text(strip=True) == "Oversight"
    response = browser.get("/oversight", query_string=NOVEMBER)
    assert response.status_code == 200
    page = soup(response)
    assert page.find("h2", string="1 November 2026 to 30 November 2026")
    section = page.find("section", id="figure-by_channel")
    table = section.find("table")
    assert [
        [c.get_text(strip=True) for c in row.find_all(["th", "td"])] for row in table.find("tbody").find_all("tr")
    ] == [["Phone", "2"], ["Email", "1"]]
    chart = section.find("svg")
    assert chart["aria-hidden"] == "true" and "2" in chart.get_text()  # the bars carry their values as text
    assert not page.find("script", src=False)  # no inline script (CSP)
    assert not page.select("[style]")  # no inline styles either
    csv_link = section.find("a", string=lambda s: s and "CSV" in s)
    download = browser.get(csv_link["href"])
    assert download.mimetype == "text/csv"
    assert download.get_data(as_text=True).splitlines() == ["Channel,Contacts", "phone,2", "email,1"]
    assert 'filename="mash-by_channel-2026-11-01-to-2026-11-30.csv"' in download.headers["Content-Disposition"]
    exported = db.session.execute(select(HistoryEvent).where(HistoryEvent.type == "report_exported")).scalar_one()
    assert exported.actor == "mgr"


def test_the_default_is_this_month_to_date_and_a_bad_date_is_explained(ctx):
    from app.engine.clock import CLOCK
    from app.services.reporting.oversight import LONDON

    today = CLOCK.now().astimezone(LONDON).date()
    browser = Browser(ctx, "auditor")
    page = soup(browser.get("/oversight"))
    assert page.find("h2", string=f"1 {today:%B %Y} to {today.day} {today:%B %Y}")
    assert page.find("input", id="from-month")["value"] == str(today.month)
    response = browser.get("/oversight", query_string={**NOVEMBER, "to-day": "31"})
    assert response.status_code == 422
    page = soup(response)
    assert page.title.get_text(strip=True).startswith("Error:")
    summary = page.find(class_="govuk-error-summary")
    assert summary.find("a", href="#to-day").get_text(strip=True) == "The end date must be a real date"
    assert page.find("input", id="to-day")["value"] == "31"  # what was typed is kept


def test_other_roles_cannot_see_oversight(ctx):
    browser = Browser(ctx, "dm")
    assert browser.get("/oversight").status_code == 403
    assert browser.get("/oversight/by_channel.csv").status_code == 403
    assert not soup(browser.get("/inbox")).find("a", href="/oversight")
