"""Stage 2 in real Chromium (spec §6): the decision maker asks three agencies; the police escalate
heightened risk from their task page and the manager raises the RAG to RED (every open partner
deadline shortens); education is late and the manager proceeds without it (its request is
withdrawn); the decision maker collates the answers side by side, the manager challenges once and
then agrees; the DAAT receives the handover. Every page is checked with axe-core.

Then the firewall canary crawl: the unique marker put in every sensitive field must appear on no
page that a partner of another agency, the receiving team or an anonymous visitor can reach (every
same-site link followed from their inbox, the case and every task of it), in no API response they
can get, and nowhere in the application log.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlparse

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import TaskRecord
from app.services.core import timers
from app.services.people import users
from tests.support import PASSWORD
from tests.support.browser import AGREE, TRIAGE, LiveFlow, choose, release_database

CANARY = "CANARY-7f3e-BROWSER-SOFT-INTEL"
PARTNERS = {"nurse": "health", "edu": "education"}
AGENCIES = (
    "Police (PVP / public protection)",
    "Health (safeguarding leads)",
    "Education (safeguarding and inclusion, education welfare)",
)


def _to_stage2(client) -> LiveFlow:
    for username, agency in PARTNERS.items():
        if users.get_by_username(username) is None:
            users.create_user(username, PASSWORD, ["partner"], agency=agency)
    flow = LiveFlow(client, channel="phone")
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "AMBER"})
    release_database()
    return flow


def _save(site, page):
    site.submit(page, "Save and continue")
    assert re.search(r"/cases/\d+$", page.url), (
        page.url,
        page.locator(".govuk-error-summary, .govuk-error-message").all_inner_texts(),
    )


def _add(site, page, button: re.Pattern):
    """Press an "Add …" button of a repeating group (no JavaScript: the page comes back with the data kept)."""
    release_database()
    with page.expect_navigation():
        page.get_by_role("button", name=button).first.click()
    site.check(page, "after add")


def _radio(page, id_prefix: str, label: str) -> None:
    page.locator(f"label[for^='{id_prefix}']", has_text=label).first.click()


def _request_three_agencies(site, dm) -> None:
    site.open_task(dm, "Request information from partner agencies")
    for label in AGENCIES:
        dm.get_by_label(label, exact=True).first.check()
    for i, label in enumerate(AGENCIES):
        _add(site, dm, re.compile(r"^Add (an|another) agency reason"))
        _radio(dm, f"f-agency_reasons--{i}--agency", label)
        dm.locator(f"#f-agency_reasons--{i}--reason").fill(f"{label} may hold information on the household")
    dm.get_by_label("Concerns and what is needed", exact=True).fill("Unexplained bruising; is the family known?")
    _save(site, dm)


def _answer(site, page, fact: str, sensitive: str | None = None) -> None:
    _add(site, page, re.compile(r"^Add (an|another) information"))
    page.locator("#f-agency_response--information--0--text").fill(fact)
    _radio(page, "f-agency_response--information--0--verified", "Yes")
    page.get_by_label("Analysis", exact=True).fill(f"{fact}: what it means for the child")
    page.get_by_label("Recommendation", exact=True).fill("Assessment")
    if sensitive:
        page.get_by_label("Sensitive or soft information (optional)").fill(sensitive)
        page.get_by_label("Who holds it (optional)").fill("DS Smith, public protection unit")
    site.submit(page, "Send your answer")  # a partner lands on its own answer, never the case (issue 15)
    assert re.search(r"/agency/answers/[^/]+$", page.url), (
        page.url,
        page.locator(".govuk-error-summary, .govuk-error-message").all_inner_texts(),
    )


def test_stage2_in_the_browser_and_the_firewall_canary_crawl(site, client, caplog):
    caplog.set_level(logging.DEBUG)
    flow = _to_stage2(client)
    dm = site.sign_in("dm")
    _request_three_agencies(site, dm)
    due_before = {u: flow.task(u, "partner_answer")["due_at"] for u in ("police", "nurse", "edu")}

    # the police escalate heightened risk from their open task, which stays open
    police = site.sign_in("police")
    site.open_task(police, "Answer the information request")
    police.get_by_text("Escalate heightened risk now").click()
    _radio(police, "f-message--phoned_manager", "Yes")
    police.get_by_label("Whom did you tell (optional)").fill("MASH manager on duty")
    police.get_by_label("Why the risk is heightened", exact=True).fill(f"Father released from custody {CANARY}")
    site.submit(police, "Escalate now", status=200)
    assert "the MASH manager has been told now" in police.inner_text("main")

    manager = site.sign_in("mgr")
    site.open_task(manager, "Act on heightened risk")
    manager.get_by_label("Protective action taken", exact=True).fill("Police attending; child seen at school")
    choose(manager, "Raise the RAG to RED", "Yes")
    choose(manager, "End Stage 2 now and hold a strategy discussion (s47)", "No")
    _save(site, manager)
    assert flow.instance()["rag"] == "RED"
    due_after = {u: flow.task(u, "partner_answer")["due_at"] for u in ("police", "nurse", "edu")}
    assert all(due_after[u] < due_before[u] for u in due_after), (due_before, due_after)
    nurse = site.sign_in("nurse")  # the shorter deadline is what health sees in its inbox
    site.visit(nurse, "/inbox")
    assert "RED" in nurse.locator("tbody").inner_text()

    # police and health answer; the police answer carries soft intelligence
    site.open_task(police, "Answer the information request")
    _answer(site, police, "Two domestic call-outs this year", sensitive=CANARY)
    site.open_task(nurse, "Answer the information request")
    _answer(site, nurse, "Health visitor: missed appointments")
    site.visit(police, "/agency/answers")  # the police can still withhold part of it from the handover
    release_database()
    with police.expect_navigation():
        police.locator("tbody a").first.click()
    site.check(police, "own answer")
    assert "What must not go to the receiving team" in police.inner_text("main")

    # education is late: at the partner due time the manager proceeds without it
    CLOCK.freeze(datetime.fromisoformat(due_after["edu"]) + timedelta(minutes=1))
    release_database()
    assert timers.fire_due() >= 1
    release_database()
    manager = site.sign_in("mgr")  # time moved on: sessions expired, everyone signs in again
    site.open_task(manager, "Decide on late answers")
    choose(manager, "Decision", "Proceed without the late answers (their requests are withdrawn)")
    manager.get_by_label("Reason", exact=True).fill("The strategy discussion cannot wait")
    _save(site, manager)
    edu = site.sign_in("edu")
    site.visit(edu, "/inbox")
    assert "Answer the information request" not in edu.inner_text("main")

    # collation: every answer side by side, soft information marked, the withdrawn request shown
    dm = site.sign_in("dm")
    site.open_task(dm, "Collate the Stage 2 information")
    answers = dm.locator("#agency-answers").locator("xpath=..").inner_text()
    assert "Two domestic call-outs this year" in answers and "Health visitor: missed appointments" in answers
    assert CANARY in answers and "The request was withdrawn: The strategy discussion cannot wait" in answers
    choose(dm, "Revised RAG", "RED")
    dm.get_by_label("Reason for the RAG", exact=True).fill("Heightened risk confirmed")
    choose(dm, "Recommended outcome", "Section 17 assessment")
    dm.get_by_label("Rationale", exact=True).fill("Risk of significant harm: assessment first")
    _save(site, dm)

    manager = site.sign_in("mgr")
    site.open_task(manager, "Review the Stage 2 recommendation")
    choose(manager, "Decision", "Challenge")
    manager.locator("#f-manager_comments").fill("The police information meets s47")
    _save(site, manager)
    site.open_task(dm, "Collate the Stage 2 information")
    assert "The police information meets s47" in dm.inner_text("main")
    choose(dm, "Recommended outcome", "Section 47 strategy discussion")
    _save(site, dm)
    site.open_task(manager, "Review the Stage 2 recommendation")
    choose(manager, "Decision", "Agree")
    _save(site, manager)
    case = flow.instance()
    assert (case["route"], case["rag"]) == ("s47_strategy", "RED")

    daat = site.sign_in("daat")
    site.open_task(daat, "Handover")
    assert CANARY not in daat.content()

    # -- the canary crawl ----------------------------------------------------------------------
    tasks = [t.id for t in db.session.query(TaskRecord).filter_by(instance_id=flow.instance_id)]
    release_database()
    starts = [
        "/",
        "/inbox",
        f"/cases/{flow.instance_id}",
        f"/cases/{flow.instance_id}/handover",
        f"/cases/{flow.instance_id}/disputes",
    ] + [f"/tasks/{t}" for t in tasks]
    anonymous = site.new_page()
    for who, page in (("edu", edu), ("nurse", nurse), ("daat", daat), ("anonymous", anonymous)):
        seen = _crawl(site, page, starts)
        assert len(seen) >= 5, (who, seen)
    for username in ("edu", "nurse", "daat"):
        for url in (
            f"/api/v1/instances/{flow.instance_id}",
            f"/api/v1/instances/{flow.instance_id}/history",
            f"/api/v1/instances/{flow.instance_id}/handover",
            "/api/v1/tasks",
        ):
            body = flow.api.get(username, url).get_data(as_text=True)
            assert CANARY not in body, (username, url)
    # the message and every attribute a structured (JSON) log formatter would write
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.__dict__!r}" for r in caplog.records)
    assert CANARY not in logged
    assert caplog.records, "the application log was captured"


def _crawl(site, page, starts: list[str], limit: int = 80) -> list[str]:
    """Visit every start page and every same-site link reachable from them (never signing out),
    asserting the canary is in none of them. Returns the URLs seen."""
    base = urlparse(site.base)
    queue = [site.url(s) for s in starts]
    seen: list[str] = []
    while queue and len(seen) < limit:
        url = queue.pop(0).split("#")[0]
        if url in seen:
            continue
        seen.append(url)
        release_database()
        response = page.goto(url)
        body = page.content()
        assert CANARY not in body, (url, response and response.status)
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
            target = urljoin(page.url, href)
            parsed = urlparse(target)
            if parsed.netloc == base.netloc and not parsed.path.startswith(("/sign-out", "/static/")):
                queue.append(target)
    return seen
