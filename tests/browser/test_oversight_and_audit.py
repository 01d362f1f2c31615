"""Oversight and audit pages in real Chromium, as the people who use them, with axe-core on every page:

- the auditor finds a case, reads its complete history (steps in order with who did them, a decision
  with its matched rule, a field's before → after) and downloads it as CSV and PDF — both exports
  then appear in the history; the case page links to the history for the roles that may read it;
- a MASH manager reads the oversight figures for a period, downloads one as CSV and gets the GOV.UK
  error summary for a date that does not exist;
- break-glass: a decision maker not working on a case gives a reason to open it, a service manager
  reviews that access; business support previews and downloads the acknowledgement letter and sends
  it; the service manager's model pages (models, start a process, a draft) and the case diagram.
"""

from __future__ import annotations

import re

from app.services.people import users
from tests.support import PASSWORD
from tests.support.browser import AGREE, TRIAGE, LiveFlow, choose, release_database, wait_ready

SECOND_ANALYSIS = "The school confirms the bruising was explained. Still s17."
REASON = "Police called out of hours about the child; the allocated worker is not answering."


def _decided_after_a_challenge(client) -> LiveFlow:
    """Stage 1 through the API: triage challenged once by the manager, triaged again, then agreed."""
    flow = LiveFlow(client, channel="phone")
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    flow.do(
        "mgr",
        "sign_off_social_care",
        {"manager_decision": "challenge", "manager_comments": "Please get the school's view first."},
    )
    flow.do("dm", "triage_social_care", {"analysis": SECOND_ANALYSIS})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    release_database()
    return flow


def _timeline_items(page) -> list[dict]:
    return page.locator(".moj-timeline__item").evaluate_all(
        """els => els.map(e => ({title: e.querySelector('.moj-timeline__title').innerText.trim(),
                                 by: e.querySelector('.moj-timeline__byline').innerText.trim(),
                                 text: e.innerText}))"""
    )


def _download(site, page, link_name: str, within=None):
    """GET a download link's target with the page's own cookies (a `download` link opens no page)."""
    scope = within if within is not None else page
    href = scope.get_by_role("link", name=link_name, exact=True).first.get_attribute("href")
    release_database()
    return page.request.get(site.url(href))


def _find_case(site, page, instance_id: int, button: str):
    """Find a case by its number, then open it ("Open the case": the case, or break-glass first) or
    read its history ("Read its history")."""
    site.follow(page, "Find a case", within=page.locator(".govuk-service-navigation"))
    page.get_by_label("Reference or case number", exact=True).fill(str(instance_id))
    site.submit(page, "Search", status=200)
    results = page.locator("table#results")
    if button == "Read its history":
        return site.follow(page, f"History of case {instance_id}", within=results)
    reason = f"Give a reason to open case {instance_id}"
    if results.get_by_role("link", name=reason, exact=True).count():
        return site.follow(page, reason, within=results)
    release_database()
    with page.expect_navigation():
        results.locator(f'a[href="/cases/{instance_id}"]').click()
    return site.check(page, "case opened from Find a case")


def test_the_auditor_reads_and_exports_a_case_history_and_a_manager_reads_oversight(site, client):
    flow = _decided_after_a_challenge(client)
    case_id = flow.instance_id

    # -- the auditor: Find a case → its complete history -----------------------------------------
    auditor = site.sign_in("auditor")
    _find_case(site, auditor, case_id, "Read its history")
    assert auditor.url.endswith(f"/cases/{case_id}/timeline"), auditor.url
    assert auditor.locator("h1").inner_text() == "Complete history"
    items = _timeline_items(auditor)
    completed = [(i["title"], i["by"]) for i in items if i["title"].startswith("Task completed: ")]
    assert completed == [
        ("Task completed: Record contact", "by masho"),
        ("Task completed: Check history", "by masho"),
        ("Task completed: Allocate", "by mgr"),
        ("Task completed: Triage (social care)", "by dm"),
        ("Task completed: Manager sign-off (social care)", "by mgr"),
        ("Task completed: Triage (social care)", "by dm"),
        ("Task completed: Manager sign-off (social care)", "by mgr"),
    ], completed
    titles = [i["title"] for i in items]
    assert titles.index("Started") < titles.index("Task completed: Record contact")
    decisions = [i for i in items if re.match(r"^Decision: triage_outcome \(rules triage_outcome_r\d+\)$", i["title"])]
    assert decisions, [t for t in titles if t.startswith("Decision")]
    assert decisions[-1]["by"] == "by dm"  # evaluated when the decision maker sent the triage
    assert (
        re.search(r"Matched rules: triage_outcome_r\d+", decisions[-1]["text"]) and "Output " in decisions[-1]["text"]
    )
    # the second triage: the analysis before → after, in the entry's change table
    second_triage = (
        auditor.locator(".moj-timeline__item")
        .filter(has=auditor.get_by_role("heading", name="Task completed: Triage (social care)", exact=True))
        .last
    )
    row = second_triage.locator("tbody tr").filter(has=auditor.get_by_role("rowheader", name="analysis", exact=True))
    assert row.locator("td").all_inner_texts() == [TRIAGE["analysis"], SECOND_ANALYSIS]
    assert "Unchanged:" in second_triage.inner_text()

    # the exports answer with the right type, and each is then recorded in the history
    csv = _download(site, auditor, "Download the history (CSV)")
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv"), csv.headers
    assert csv.text().lstrip("\ufeff").startswith("entry,at_utc,at_london,source,instance,event")
    pdf = _download(site, auditor, "Download the history (PDF)")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf", pdf.headers
    assert pdf.body().startswith(b"%PDF")
    site.visit(auditor, f"/cases/{case_id}/timeline")
    exported = [(i["title"], i["by"]) for i in _timeline_items(auditor) if i["title"].startswith("History exported")]
    assert exported == [("History exported: csv", "by auditor"), ("History exported: pdf", "by auditor")], exported
    site.follow(auditor, "Hide views of the case")
    assert not [i for i in _timeline_items(auditor) if i["title"].startswith("Viewed")]

    # -- the case page links to the history for those who may read it -----------------------------
    site.visit(auditor, f"/cases/{case_id}")
    site.follow(auditor, "Case history")
    assert auditor.url.endswith(f"/cases/{case_id}/timeline")
    masho = site.sign_in("masho")  # worked on the case: whoever works on a case can open its history
    site.visit(masho, f"/cases/{case_id}")
    assert masho.get_by_role("link", name="Case history", exact=True).count() == 1

    # -- a MASH manager: the oversight figures for November --------------------------------------
    manager = site.sign_in("mgr")
    site.visit(manager, f"/cases/{case_id}")
    assert manager.get_by_role("link", name="Case history", exact=True).count() == 1
    site.follow(manager, "Oversight", within=manager.locator(".govuk-service-navigation"))
    for prefix, (day, month, year) in (("from", ("1", "11", "2026")), ("to", ("30", "11", "2026"))):
        manager.locator(f"#{prefix}-day").fill(day)
        manager.locator(f"#{prefix}-month").fill(month)
        manager.locator(f"#{prefix}-year").fill(year)
    site.submit(manager, "Show figures", status=200)
    assert manager.get_by_role("heading", name="1 November 2026 to 30 November 2026", exact=True).is_visible()
    by_channel = manager.locator("#figure-by_channel")
    rows = by_channel.locator("tbody tr").evaluate_all("rs => rs.map(r => [...r.cells].map(c => c.innerText.trim()))")
    assert ["Phone", "1"] in rows, rows
    assert manager.locator("section[id^='figure-']").count() >= 10
    assert "1 of 1 decided within one working day (100%)" in manager.locator("#figure-decisions").inner_text()
    outcomes = manager.locator("#figure-by_outcome tbody tr").evaluate_all(
        "rs => rs.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    assert len(outcomes) == 1 and outcomes[0][1:] == ["Decision", "1"], outcomes  # the case decided above
    link = by_channel.get_by_role("link", name=re.compile(r"as CSV$")).first.inner_text()
    download = _download(site, manager, link, within=by_channel)
    assert download.status == 200 and download.headers["content-type"].startswith("text/csv"), download.headers
    assert "phone,1" in download.text().splitlines()
    assert 'filename="mash-by_channel-2026-11-01-to-2026-11-30.csv"' in download.headers["content-disposition"]
    # 31 November does not exist: the error summary, linked to the field, the dates kept
    manager.locator("#to-day").fill("31")
    site.submit(manager, "Show figures", status=422)
    assert manager.title().startswith("Error:")
    summary = manager.locator(".govuk-error-summary")
    assert summary.is_visible() and "There is a problem" in summary.inner_text()
    error_link = summary.get_by_role("link", name="The end date must be a real date", exact=True)
    assert error_link.get_attribute("href") == "#to-day" and manager.locator("#to-day").input_value() == "31"
    error_link.click()
    assert manager.evaluate("document.activeElement.id") == "to-day"
    assert "to-error" in (manager.locator("#to").locator("xpath=..").get_attribute("aria-describedby") or "")


def test_break_glass_and_its_review_a_letter_task_and_the_model_pages(site, client):
    flow = LiveFlow(client, channel="phone")
    flow.intake()  # waiting on the manager's allocation and business support's acknowledgement
    if users.get_by_username("sm") is None:
        users.create_user("sm", PASSWORD, ["service_manager"])
    release_database()
    case_id = flow.instance_id

    # -- break-glass: a decision maker who is not working on the case --------------------------------
    dm = site.sign_in("dm")
    _find_case(site, dm, case_id, "Open the case")
    assert re.search(rf"/cases/{case_id}/break-glass", dm.url), dm.url
    assert dm.locator("h1").inner_text() == "You are not working on this case"
    site.submit(dm, "Open the case", status=422)  # no reason given
    summary = dm.locator(".govuk-error-summary")
    assert summary.is_visible() and dm.title().startswith("Error:")
    assert summary.get_by_role("link").first.get_attribute("href") == "#reason"
    dm.get_by_label("Why do you need to open this case?", exact=True).fill(REASON)
    site.submit(dm, "Open the case", status=200)
    assert dm.url.endswith(f"/cases/{case_id}"), dm.url
    main = dm.inner_text("main")
    assert f"Case {case_id} is open to you until" in main and "reviewed by the service manager" in main
    assert dm.get_by_role("link", name="Case history", exact=True).count() == 0  # not a history reader

    # -- the service manager reviews it -------------------------------------------------------------
    sm = site.sign_in("sm")
    site.follow(sm, "Find a case", within=sm.locator(".govuk-service-navigation"))
    site.follow(sm, "1 emergency access waiting for your review")
    waiting = sm.locator("table").filter(has_text="Waiting for review (1)")
    assert REASON in waiting.inner_text() and f"Case {case_id}" in waiting.inner_text()
    site.follow(sm, f"Review dm’s access to case {case_id}", within=waiting)
    assert REASON in sm.inner_text("main") and "Case page" in sm.inner_text("main")  # what dm viewed
    site.submit(sm, "Record the review", status=422)
    assert sm.locator(".govuk-error-summary").is_visible()
    sm.get_by_label("Appropriate", exact=True).check()
    site.submit(sm, "Record the review", status=200)
    assert sm.url.endswith("/audit/break-glass")
    assert "Review recorded in the case history" in sm.inner_text("main")
    reviewed = sm.locator("table").filter(has_text="Reviewed")
    assert "Appropriate" in reviewed.inner_text() and "Nothing is waiting for review." in sm.inner_text("main")

    # -- business support: the acknowledgement letter ---------------------------------------------------
    bs = site.sign_in("bs")
    site.open_task(bs, "Acknowledge the referrer")
    assert bs.get_by_role("heading", name="Acknowledgement to the referrer", exact=True).is_visible()
    bs.get_by_text("Preview the letter", exact=True).click()
    preview = bs.locator("details.govuk-details .govuk-details__text")
    assert preview.is_visible() and re.search(r"MASH-20261124-\d{6}", preview.inner_text())
    site.check(bs, "letter preview open")
    letter = _download(site, bs, "Download the letter (PDF)")
    assert letter.status == 200 and letter.headers["content-type"] == "application/pdf", letter.headers
    assert letter.body().startswith(b"%PDF")
    when = bs.get_by_role("group", name="Acknowledged at")  # a GOV.UK date input and a time box
    for part, value in (("Day", "24"), ("Month", "11"), ("Year", "2026"), ("Time", "10:30")):
        when.get_by_label(part, exact=True).fill(value)
    choose(bs, "Method", "Email")
    site.submit(bs, "Save and continue", status=200)
    assert re.search(rf"/cases/{case_id}$", bs.url), bs.url
    assert "Acknowledge the referrer" not in bs.locator("main ul.govuk-list").first.inner_text()
    letter_events = [e["type"] for e in flow.history() if e["type"] in ("letter_downloaded", "letter_sent")]
    assert letter_events == ["letter_downloaded", "letter_sent"], letter_events
    release_database()

    # -- the service manager's model pages ----------------------------------------------------------
    site.follow(sm, "Models", within=sm.locator(".govuk-service-navigation"))
    assert sm.locator("h1").inner_text() == "Models"
    assert "front_door" in sm.inner_text("main")
    site.submit(sm, "Start a draft from the newest version", status=200)
    assert re.search(r"/modeller/drafts/\d+$", sm.url), sm.url
    files = sm.get_by_role("table", name="Files in the draft")
    assert files.get_by_role("link", name="processes/front_door.bpmn", exact=True).count() == 1
    site.visit(sm, "/processes")
    assert sm.locator("h1").inner_text() == "Start a process"

    # the case diagram: the service manager is not working on the case either, so break-glass first
    _find_case(site, sm, case_id, "Open the case")
    sm.get_by_label("Why do you need to open this case?", exact=True).fill(REASON)
    site.submit(sm, "Open the case", status=200)
    assert sm.get_by_role("link", name="Case history", exact=True).count() == 1
    site.follow(sm, "See where this case is on the process diagram")
    wait_ready(sm)
    assert sm.url.endswith(f"/cases/{case_id}/diagram")
    assert "Allocate" in sm.locator("#app-active-steps").inner_text()
    assert "Record contact" in sm.locator("#app-completed-steps").inner_text()
    site.check(sm, "case diagram drawn")
