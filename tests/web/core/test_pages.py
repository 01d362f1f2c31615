"""Pages as a practitioner meets them (server-rendered; the browser tests drive Chromium on top)."""

from datetime import timedelta

from app.engine.clock import CLOCK
from tests.support.flow import Flow
from tests.support.pages import Browser, soup


def test_start_page_puts_999_first_and_offers_referral_and_sign_in(ctx):
    page = soup(Browser(ctx).get("/"))
    text = page.get_text(" ", strip=True)
    assert text.index("999") < text.index("Sign in")
    assert page.find("a", href="/refer") is not None


def test_sign_in_then_sign_out_revokes_the_session_server_side(ctx):
    browser = Browser(ctx, "masho")
    cookie = browser.client.get_cookie("mash_session").value
    assert browser.get("/inbox").status_code == 200
    browser.post("/sign-out", {}, csrf_url="/inbox")
    replay = ctx.test_client()
    replay.set_cookie("mash_session", cookie)
    response = replay.get("/inbox")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_wrong_password_shows_an_error_summary(ctx):
    browser = Browser(ctx)
    from tests.support import make_people

    make_people(["masho"])
    response = browser.post("/sign-in", {"username": "masho", "password": "wrong"})
    page = soup(response)
    assert response.status_code == 400
    assert page.select_one(".govuk-error-summary") is not None
    assert page.title.string.startswith("Error:")


def test_idle_session_expires_with_a_clear_page(ctx):
    browser = Browser(ctx, "masho")
    CLOCK.advance(timedelta(minutes=31))
    response = browser.get("/inbox")
    assert response.status_code == 302 and response.headers["Location"].endswith("/session-expired")
    assert "signed you out" in soup(browser.get("/session-expired")).h1.get_text().lower()


def test_a_forged_cross_site_post_is_refused(ctx):
    browser = Browser(ctx, "masho")
    response = browser.client.post("/sign-out", data={})
    assert response.status_code == 400
    assert browser.get("/inbox").status_code == 200  # still signed in: nothing happened


def test_every_page_route_is_signed_in_or_deliberately_public(ctx):
    unmarked = []
    for rule in ctx.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/static")):
            continue
        view = ctx.view_functions[rule.endpoint]
        chain = []
        while view is not None:
            chain.append(view)
            view = getattr(view, "__wrapped__", None)
        if not any(getattr(v, "login_required", False) or getattr(v, "public", False) for v in chain):
            unmarked.append(rule.rule)
    assert unmarked == []


def test_inbox_lists_the_task_with_rag_and_due_time(client, ctx):
    flow = Flow(client)
    browser = Browser(ctx, "masho")
    page = soup(browser.get("/inbox"))
    row = page.select_one("tbody tr")
    assert "Record contact" in row.get_text()
    assert "Jamie Doe" in row.get_text()
    assert "Due in 30 min" in row.get_text(" ", strip=True)  # recorded at 10:00 (the clock is frozen), due 10:30
    assert flow.instance_id


def test_task_form_errors_keep_the_data_and_link_to_fields(client, ctx):
    flow = Flow(client)
    task = flow.task("masho", "record_contact")
    browser = Browser(ctx, "masho")
    url = f"/tasks/{task['id']}"
    assert browser.get(url).status_code == 200
    response = browser.post(url, {"consent": "not_sought", "summary": "<script>alert(1)</script>"})
    page = soup(response)
    assert response.status_code == 422
    links = [a["href"] for a in page.select(".govuk-error-summary a")]
    assert links and all(page.select_one(href) is not None for href in links if href.startswith("#"))
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    assert "&lt;script&gt;" in response.get_data(as_text=True)


def test_a_task_already_done_shows_who_to_ask_not_a_crash(client, ctx):
    flow = Flow(client)
    task = flow.task("masho", "record_contact")
    flow.intake()
    response = Browser(ctx, "masho").get(f"/tasks/{task['id']}")
    assert response.status_code == 409
    assert "already" in soup(response).get_text().lower()


def test_partner_sees_no_stage1_tasks(client, ctx):
    Flow(client)
    page = soup(Browser(ctx, "police").get("/inbox"))
    assert page.select("tbody tr") == []


def test_online_referral_creates_a_contact_and_shows_only_a_reference(ctx):
    browser = Browser(ctx)
    answers = {
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
    }
    check = browser.post("/refer", {**answers, "action": "continue"})
    assert check.status_code == 200 and "Check your answers" in soup(check).find("h1").get_text()
    response = browser.post("/refer", {**answers, "action": "send"})
    assert response.status_code == 200
    text = soup(response).get_text(" ", strip=True)
    assert "MASH-" in text and "Jamie" not in text
    from tests.support import make_people

    make_people(["masho"])
    inbox = soup(Browser(ctx, "masho").get("/inbox?channel=online_form"))
    assert "Jamie Doe" in inbox.get_text()


def test_online_referral_validates_per_field(ctx):
    response = Browser(ctx).post(
        "/refer",
        {
            "child-0-born": "yes",
            "child-0-date_of_birth-day": "31",
            "child-0-date_of_birth-month": "2",
            "child-0-date_of_birth-year": "2016",
        },
    )
    page = soup(response)
    assert response.status_code == 422
    assert page.select_one("#child-0-date_of_birth-day") is not None
    assert "real date" in page.get_text()
    assert "999" in page.get_text()


def test_an_administrator_adds_and_removes_a_closure_day(ctx):
    from app.services.modelling import calendar_admin

    browser = Browser(ctx, "admin")
    response = browser.post("/admin/closure-days", {"day": "2026-12-29", "reason": "Council closure"})
    assert response.status_code == 302
    assert [c.day.isoformat() for c in calendar_admin.closures()] == ["2026-12-29"]
    page = soup(browser.get("/admin/closure-days"))
    assert "Council closure" in page.get_text()
    bad = browser.post("/admin/closure-days", {"day": "29/12", "reason": ""})
    assert bad.status_code == 422 and soup(bad).select_one(".govuk-error-summary") is not None
    browser.post("/admin/closure-days/2026-12-29/remove", {}, csrf_url="/admin/closure-days")
    assert calendar_admin.closures() == []


def test_a_practitioner_cannot_manage_closure_days(ctx):
    assert Browser(ctx, "masho").get("/admin/closure-days").status_code == 403


def test_task_instructions_cannot_run_code_or_inject_markup(ctx):
    from app.web.core.instructions import render_instructions

    hostile = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"
    assert "uid=" not in str(render_instructions(hostile, {}))
    assert (
        str(render_instructions("Child: {{ child.first_name }}", {"child": {"first_name": "<b>x</b>"}}))
        == "Child: &lt;b&gt;x&lt;/b&gt;"
    )


def test_a_partner_escalates_from_the_task_page(client, ctx):
    from tests.support import make_people
    from tests.support.escalation import start_escalation_case

    make_people(["police", "mgr"])
    from app.services.people import users

    users.create_user("nurse", "a-long-password-1", ["partner"], agency="health")
    start_escalation_case()
    browser = Browser(ctx, "police")
    task_link = soup(browser.get("/inbox")).select_one("tbody a")["href"]
    page = soup(browser.get(task_link))
    assert "Escalate heightened risk now" in page.get_text()
    bad = browser.post(f"{task_link}/message", {"message.phoned_manager": "false"}, csrf_url=task_link)
    assert bad.status_code == 422 and soup(bad).select_one(".govuk-error-summary") is not None
    sent = browser.post(
        f"{task_link}/message",
        {"message.phoned_manager": "false", "message.reason": "Father released today"},
        csrf_url=task_link,
    )
    assert sent.status_code == 302
    manager = soup(Browser(ctx, "mgr").get("/inbox"))
    assert "Act on heightened risk now" in manager.get_text()
