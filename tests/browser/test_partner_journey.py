"""Issue 15, partners, in real Chromium with axe on every page: a police officer signs in, finds the
request in the inbox, reads what is asked (the concerns and what is needed, the police's own reason,
when the answer is due in words), answers, lands on the answer under "Our answers" (never the case),
revises it while the handover has not gone, and finds every page of the case closed to them (404)."""

from __future__ import annotations

import re

from app.services.people import users
from tests.support import PASSWORD
from tests.support.browser import AGREE, TRIAGE, LiveFlow, release_database

REASONS = {
    "police": "Domestic incidents reported at the address",
    "health": "HEALTH-ONLY reason: missed health visitor appointments",
}
DETAILS = "Unexplained bruising to a 7-year-old; is the household known, and what do you hold?"


def _asked(client) -> LiveFlow:
    """The case built through the API up to a Stage 2 request to the police and health."""
    if users.get_by_username("nurse") is None:
        users.create_user("nurse", PASSWORD, ["partner"], agency="health")
    flow = LiveFlow(client, channel="phone")
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "AMBER"})
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": ["police", "health"],
            "request_details": DETAILS,
            "agency_reasons": [{"agency": a, "reason": r} for a, r in REASONS.items()],
        },
    )
    release_database()
    return flow


def test_a_partners_whole_journey(site, client):
    flow = _asked(client)
    task_id = flow.task("police", "partner_answer")["id"]
    release_database()

    police = site.sign_in("police")
    site.visit(police, "/inbox")
    assert "Answer the information request" in police.inner_text("main")

    # the request: what is asked, the police's own reason, when it is due, in words
    site.open_task(police, "Answer the information request")
    main = police.inner_text("main")
    assert REASONS["police"] in main and DETAILS in main
    assert re.search(r"Answer by \S+ on \w+day \d{1,2} \w+ \d{4}", main), main
    assert "Jamie Doe" in main
    assert REASONS["health"] not in police.content()
    for absent in ("Case file", "Decisions so far", "View the case", "AMBER"):
        assert absent not in main, absent
    assert police.locator("main a[href^='/cases/']").count() == 0

    # the answer, sent: the police land on their own answer, never the case
    release_database()
    with police.expect_navigation():
        police.get_by_role("button", name=re.compile(r"^Add (an|another) information")).first.click()
    site.check(police, "after add")
    police.locator("#f-agency_response--information--0--text").fill("Two domestic call-outs this year")
    police.locator("label[for^='f-agency_response--information--0--verified']", has_text="Yes").first.click()
    police.get_by_label("Analysis", exact=True).fill("Call-outs involve the father: risk to the child")
    police.get_by_label("Recommendation", exact=True).fill("Assessment")
    site.submit(police, "Send your answer", status=200)
    assert police.url.endswith(f"/agency/answers/{task_id}"), police.url
    assert "Your answer has been sent to the MASH" in police.inner_text("main")

    # revise it while the handover package has not gone
    site.follow(police, "Revise your answer")
    police.get_by_label("Recommendation", exact=True).fill("Strategy discussion")
    site.submit(police, "Save a new version", status=200)
    assert "Saved as version 2 of your answer" in police.inner_text("main")
    revised = [e for e in flow.history() if e["type"] == "answer_revised"]
    assert [(e["actor"], e["detail"]["version"]) for e in revised] == [("police", 2)]
    release_database()

    # "Our answers" lists it; nothing there leads into the case
    site.follow(police, "Our answers")
    assert police.locator("main a[href^='/cases/']").count() == 0
    assert police.locator(f"main a[href='/agency/answers/{task_id}']").count() == 1

    # every page of the case is closed to a partner, after answering as before
    for url in (
        f"/cases/{flow.instance_id}",
        f"/cases/{flow.instance_id}/timeline",
        f"/cases/{flow.instance_id}/diagram",
        f"/cases/{flow.instance_id}/handover",
    ):
        site.visit(police, url, status=404)
    site.visit(police, f"/tasks/{flow.task('nurse', 'partner_answer')['id']}", status=404)
