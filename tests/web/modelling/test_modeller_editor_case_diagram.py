"""The read-only case diagram page (/cases/<id>/diagram) and its link from the case page."""

from __future__ import annotations

import json

from tests.support.flow import Flow
from tests.support.pages import Browser, soup


def test_the_case_page_links_to_a_diagram_page_with_the_version_and_the_steps(ctx):
    flow = Flow(ctx.test_client())
    browser = Browser(ctx, "masho")
    case = soup(browser.get(f"/cases/{flow.instance_id}"))
    link = case.find("a", string="See where this case is on the process diagram")
    assert link is not None and link["href"] == f"/cases/{flow.instance_id}/diagram"
    response = browser.get(link["href"])
    assert response.status_code == 200
    page = soup(response)
    assert "version 1" in page.select_one(".govuk-caption-l").get_text()
    data = json.loads(page.find(id="app-case-diagram-data").get_text())
    assert "record_contact" in data["active"] and 'id="front_door"' in data["xml"]
    assert "Record contact" in page.find(id="app-active-steps").get_text()
    assert page.find("script", src="/static/modeller/case-diagram.js") is not None
    assert page.find("script", src=None) is None
    stage2 = page.find("a", string="Stage 2 information sharing")
    assert stage2 is not None and "process=stage2_infosharing" in stage2["href"]
    assert browser.get(stage2["href"]).status_code == 200


def test_the_diagram_is_refused_to_whoever_may_not_see_the_case(ctx):
    flow = Flow(ctx.test_client())
    assert Browser(ctx, "police").get(f"/cases/{flow.instance_id}/diagram").status_code == 404
    assert Browser(ctx, "masho").get(f"/cases/{flow.instance_id}/diagram?process=nope").status_code == 404
    anonymous = ctx.test_client().get(f"/cases/{flow.instance_id}/diagram")
    assert anonymous.status_code == 302
