"""Case history pages: every page read recorded, the timeline for auditors and managers, its CSV
and PDF exports (recorded), and break-glass with the service manager's review."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import ProcessInstance
from app.services.core import history
from app.services.core.transaction import unit_of_work
from app.services.people import users
from tests.support import PASSWORD
from tests.support.flow import RECORD, Flow
from tests.support.pages import Browser, soup


def _signed_in(app, username: str, roles: list[str]) -> Browser:
    if users.get_by_username(username) is None:
        users.create_user(username, PASSWORD, roles)
    browser = Browser(app)
    browser.sign_in(username)
    return browser


def _new_events(instance_id: int, after: int):
    return [e for e in history.for_instance(instance_id) if e.id > after]


def _last_id(instance_id: int) -> int:
    return max(e.id for e in history.for_instance(instance_id))


def test_every_page_showing_a_case_records_a_view(client, ctx):
    flow = Flow(client)
    flow.intake()
    with unit_of_work():
        row = db.session.get(ProcessInstance, flow.instance_id)
        row.case_data = {**row.case_data, "receiving_team": "daat"}
    iid = flow.instance_id
    task = flow.task("mgr", "allocate")
    pages = [
        ("mgr", f"/cases/{iid}", "web.case"),
        ("mgr", f"/tasks/{task['id']}", "web.task"),
        ("daat", f"/cases/{iid}/handover", "web.handover_package"),
        ("auditor", f"/cases/{iid}/timeline", "web.audit_timeline"),
    ]
    before = _last_id(iid)
    for username, url, _ in pages:
        assert Browser(ctx, username).get(url).status_code == 200, url
    views = [e for e in _new_events(iid, before) if e.type == "viewed"]
    assert [(v.actor, v.detail["route"]) for v in views] == [(u, r) for u, _, r in pages]
    assert views[1].task_id == task["id"]
    # a refused page is recorded as refused, not as a view
    before = _last_id(iid)
    assert Browser(ctx, "police").get(f"/cases/{iid}").status_code == 404
    assert [e.type for e in _new_events(iid, before)] == ["access_denied"]


def test_the_timeline_shows_each_step_with_who_and_what_changed(client, ctx):
    flow = Flow(client)
    flow.do("masho", "record_contact", {**RECORD, "safety_scale": 3})
    flow.do("masho", "history_check", {"confirmed_matches": [], "case_system_checks": [], "synopsis": "None found."})
    page = soup(Browser(ctx, "auditor").get(f"/cases/{flow.instance_id}/timeline"))
    items = page.select(".moj-timeline__item")
    titles = [i.select_one(".moj-timeline__title").get_text(" ", strip=True) for i in items]
    assert titles[0].startswith("Started")
    record = next(i for i in items if "Task completed" in i.select_one(".moj-timeline__title").get_text())
    assert "by masho" in record.select_one(".moj-timeline__byline").get_text()
    rows = {
        r.th.get_text(" ", strip=True): [td.get_text(strip=True) for td in r.select("td")]
        for r in record.select("tbody tr")
    }
    assert rows["safety scale"] == ["(empty)", "3"]
    decision = next(i for i in items if i.select_one(".moj-timeline__title").get_text().startswith("Decision"))
    details = decision.get_text(" ", strip=True)
    assert "contact_routing" in details and "Deployment version" in details and "Input request_type" in details
    assert any(t.startswith("Route taken") for t in titles)
    assert any(t.startswith("Viewed") for t in titles)  # the reads of the case are on it too
    # order is the order things happened
    times = [i.select_one("time")["datetime"] for i in items]
    assert times == sorted(times)


def test_auditors_managers_and_whoever_works_on_the_case_read_the_timeline(client, ctx):
    flow = Flow(client)
    flow.intake()  # the MASH manager now has the allocation: need-to-know
    assert Browser(ctx, "mgr").get(f"/cases/{flow.instance_id}/timeline").status_code == 200
    assert Browser(ctx, "masho").get(f"/cases/{flow.instance_id}/timeline").status_code == 200  # recorded it
    assert Browser(ctx, "police").get(f"/cases/{flow.instance_id}/timeline").status_code == 404
    denied = [e for e in history.for_instance(flow.instance_id) if e.type == "access_denied"]
    assert {e.actor for e in denied} == {"police"}


def test_the_history_exports_as_csv_and_pdf_and_each_export_is_recorded(client, ctx):
    flow = Flow(client)
    flow.intake({"appendix_a_q1": '=HYPERLINK("http://evil")'})
    browser = Browser(ctx, "auditor")
    response = browser.get(f"/cases/{flow.instance_id}/timeline.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0]["event"] == "Started"
    completed = [r for r in rows if r["event"] == "Task completed"]
    assert [r["actor"] for r in completed] == ["masho", "masho"]
    assert not any((cell or "").startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())  # no formulas
    assert all(len(r["hash"]) == 64 for r in rows)
    pdf = browser.get(f"/cases/{flow.instance_id}/timeline.pdf")
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF")
    exports = [e for e in history.for_instance(flow.instance_id) if e.type == "exported"]
    assert [(e.actor, e.detail["format"]) for e in exports] == [("auditor", "csv"), ("auditor", "pdf")]
    # an export is not also counted as a view
    assert not any(
        e.type == "viewed" and e.detail.get("route", "").startswith("web.audit_export")
        for e in history.for_instance(flow.instance_id)
    )


def test_break_glass_asks_a_reason_opens_for_a_time_and_is_reviewed(client, ctx):
    flow = Flow(client)
    flow.intake()
    iid = flow.instance_id
    ctx.config["BREAK_GLASS_MINUTES"] = 10
    browser = Browser(ctx, "ehdm")  # an Early Help decision maker, not working on this case
    assert browser.get(f"/cases/{iid}").status_code == 404
    assert browser.get(f"/audit/open?case={iid}").headers["Location"].endswith(f"/cases/{iid}/break-glass?next=case")
    form = browser.get(f"/cases/{iid}/break-glass")
    assert form.status_code == 200 and soup(form).find("textarea", {"name": "reason"}) is not None
    empty = browser.post(f"/cases/{iid}/break-glass", {"reason": ""})
    assert empty.status_code == 422 and soup(empty).select_one(".govuk-error-summary") is not None
    opened = browser.post(f"/cases/{iid}/break-glass", {"reason": "Mother phoned the duty line in crisis"})
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/cases/{iid}")
    assert browser.get(f"/cases/{iid}").status_code == 200
    events = history.for_instance(iid)
    (grant,) = [e for e in events if e.type == "break_glass_opened"]
    assert grant.actor == "ehdm" and grant.detail["reason"] == "Mother phoned the duty line in crisis"
    view = [e for e in events if e.type == "viewed" and e.actor == "ehdm"][-1]
    assert view.detail["break_glass"] == grant.id and view.detail["purpose"].startswith("Mother phoned")
    CLOCK.advance(timedelta(minutes=11))  # time-boxed (the sign-in session lasts longer)
    assert browser.get(f"/cases/{iid}").status_code == 404

    reviewer = _signed_in(ctx, "sm", ["service_manager"])
    listing = soup(reviewer.get("/audit/break-glass"))
    assert "Mother phoned the duty line in crisis" in listing.get_text()
    url = f"/audit/break-glass/{grant.id}"
    missing_note = reviewer.post(url, {"outcome": "not_appropriate", "note": ""})
    assert missing_note.status_code == 422
    assert reviewer.post(url, {"outcome": "appropriate", "note": "Urgent call"}).status_code == 302
    (review,) = [e for e in history.for_instance(iid) if e.type == "break_glass_reviewed"]
    assert (review.actor, review.detail["outcome"], review.detail["opened_event_id"]) == ("sm", "appropriate", grant.id)
    assert "Nothing is waiting for review" in soup(reviewer.get("/audit/break-glass")).get_text()


def test_a_service_manager_cannot_review_their_own_break_glass(client, ctx):
    flow = Flow(client)
    browser = _signed_in(ctx, "sm", ["service_manager"])
    browser.post(f"/cases/{flow.instance_id}/break-glass", {"reason": "Checking a complaint about the case"})
    assert browser.get(f"/cases/{flow.instance_id}/timeline").status_code == 200  # managers: history too
    (grant,) = [e for e in history.for_instance(flow.instance_id) if e.type == "break_glass_opened"]
    assert browser.post(f"/audit/break-glass/{grant.id}", {"outcome": "appropriate"}).status_code == 403
    assert not [e for e in history.for_instance(flow.instance_id) if e.type == "break_glass_reviewed"]


def test_partners_and_receiving_teams_never_get_break_glass(client, ctx):
    flow = Flow(client)
    for username in ("police", "daat"):
        browser = Browser(ctx, username)
        assert browser.get(f"/cases/{flow.instance_id}/break-glass").status_code == 404
        response = browser.post(
            f"/cases/{flow.instance_id}/break-glass", {"reason": "I would like to see it please"}, csrf_url="/inbox"
        )
        assert response.status_code == 404
        assert browser.get(f"/cases/{flow.instance_id}").status_code == 404
    events = history.for_instance(flow.instance_id)
    assert not [e for e in events if e.type == "break_glass_opened"]
    assert {e.actor for e in events if e.type == "access_denied"} >= {"police", "daat"}


def test_find_a_case_is_in_the_navigation_for_mash_staff_only(client, ctx):
    flow = Flow(client)
    assert "Find a case" in Browser(ctx, "dm").get("/inbox").get_data(as_text=True)
    assert "Find a case" not in Browser(ctx, "police").get("/inbox").get_data(as_text=True)
    page = Browser(ctx, "auditor").get(f"/audit/open?case={flow.instance_id}&to=timeline")
    assert page.headers["Location"].endswith(f"/cases/{flow.instance_id}/timeline")
