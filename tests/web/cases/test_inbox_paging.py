"""The inbox says how many tasks there are and pages with the GOV.UK pagination component, keeping the
view, filters and sort in its links; each page shown is one list event naming its cases."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from app.services.audit import audit
from tests.support import T0, seed_tasks
from tests.support.flow import Flow, contact
from tests.support.pages import Browser, soup


def _task_links(page) -> list[str]:
    return [a["href"] for a in page.select("tbody a")]


def test_the_inbox_counts_and_pages_every_task(client, ctx):
    flow = Flow(client)
    seed_tasks([flow.instance_id], 119)
    seed_tasks([flow.instance_id], 4, agency="police")  # not masho's: not counted
    browser = Browser(ctx, "masho")
    first = soup(browser.get("/inbox?sort=rag&view=all"))
    assert first.select_one("caption").get_text(" ", strip=True).startswith("120 tasks")
    assert "Page 1 of 3" in first.select_one("caption").get_text()
    nav = first.select_one("nav.govuk-pagination")
    assert nav is not None and nav["aria-label"] == "Inbox pages"
    numbers = [a.get_text(strip=True) for a in nav.select(".govuk-pagination__item a")]
    assert numbers == ["1", "2", "3"]
    next_href = nav.select_one(".govuk-pagination__next a")["href"]
    assert parse_qs(urlparse(next_href).query) == {"view": ["all"], "sort": ["rag"], "page": ["2"]}
    seen = _task_links(first)
    for number in (2, 3):
        response = browser.get(f"/inbox?sort=rag&view=all&page={number}")
        assert response.status_code == 200
        page = soup(response)
        assert f"Page {number} of 3" in page.select_one("caption").get_text()
        seen += _task_links(page)
    assert len(seen) == 120 and len(set(seen)) == 120  # every task once, none cut off
    assert soup(browser.get("/inbox?page=99")).select_one("caption").get_text(" ", strip=True).startswith("120")
    assert browser.get("/inbox?page=-1").status_code == 200 and browser.get("/inbox?page=x").status_code == 200


def test_filters_count_what_they_show_and_a_short_inbox_has_no_pagination(client, ctx):
    flow = Flow(client)
    seed_tasks([flow.instance_id], 3, rag="RED")
    page = soup(Browser(ctx, "masho").get("/inbox?rag=RED"))
    assert page.select_one("caption").get_text(" ", strip=True) == "3 tasks"
    assert page.select_one("nav.govuk-pagination") is None
    assert len(page.select("tbody tr")) == 3


def test_each_inbox_page_is_one_list_event_naming_its_cases(client, ctx):
    flow = Flow(client)
    other = flow.api.post("masho", "/api/v1/contacts", contact())
    ids = [flow.instance_id, other.json["instance_id"]]
    before = len(audit.lists_naming(ids))
    Browser(ctx, "masho").get("/inbox")
    (event,) = audit.lists_naming(ids)[before:]
    assert event.detail["instances"] == sorted(ids) and event.detail["route"] == "web.inbox"
    assert event.detail["via"] == "web" and event.detail["page"] == {"page": 1, "pages": 1, "total": 2}
    assert event.instance_id is None and event.actor == "masho"


def test_an_agencys_answers_are_counted_and_paged_too(client, ctx):
    flow = Flow(client)
    seed_tasks([flow.instance_id], 60, role="partner", agency="police", state="completed", completed_at=T0)
    seed_tasks([flow.instance_id], 5, role="partner", agency="health", state="completed", completed_at=T0)
    police = Browser(ctx, "police")
    first = soup(police.get("/agency/answers"))
    assert first.select_one("caption").get_text(" ", strip=True).startswith("60 answers")
    assert first.select_one("nav.govuk-pagination") is not None and len(first.select("tbody tr")) == 50
    second = soup(police.get("/agency/answers?page=2"))
    assert "Page 2 of 2" in second.select_one("caption").get_text() and len(second.select("tbody tr")) == 10
    links = {a["href"] for page in (first, second) for a in page.select("tbody a")}
    assert len(links) == 60
