"""Browser tests' helpers: the live site, API journeys beside it, and answering GOV.UK questions."""

from __future__ import annotations

import re

from app.extensions import db
from app.services.people import users
from tests.support import PASSWORD, Api, make_people
from tests.support.flow import Flow

AXE_URL = "/static/vendor/axe/axe.min.js"


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def release_database() -> None:
    """End the test thread's transaction.

    On SQLite every transaction (reads too) starts with BEGIN IMMEDIATE, so a session left open in
    the test thread (the Flask test client shares ctx's app context, hence its session) would make
    every request of the live server wait for the lock.
    """
    db.session.commit()


class ReleasingApi(Api):
    def call(self, method, username, url, json=None):
        try:
            return super().call(method, username, url, json)
        finally:
            release_database()


class LiveFlow(Flow):
    """tests/api/flow.Flow for a test that also drives the live server: never holds the database."""

    def __init__(self, client, **contact_overrides):
        make_people()
        self.api = ReleasingApi(client)
        from tests.support.flow import contact

        response = self.api.post("masho", "/api/v1/contacts", contact(**contact_overrides))
        assert response.status_code == 201, response.json
        self.contact = response.json
        self.instance_id = response.json["instance_id"]


class AxeViolations(AssertionError):
    pass


def axe_check(page, context: str = "") -> None:
    """Run axe-core (WCAG 2.0/2.1 A+AA, 2.2 AA) on the current page; fail listing every violation."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        origin = page.evaluate("location.origin")
        page.add_script_tag(url=origin + AXE_URL)
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    violations = result["violations"]
    if violations:
        lines = [f"axe: {len(violations)} violation(s) on {page.url}{' (' + context + ')' if context else ''}"]
        for v in violations:
            lines.append(f"- {v['id']} [{v['impact']}]: {v['help']} ({v['helpUrl']})")
            for node in v["nodes"][:10]:
                lines.append(
                    f"    {' '.join(map(str, node['target']))}: {node['failureSummary'].splitlines()[-1].strip()}"
                    f"\n      {node['html'][:200]}"
                )
        raise AxeViolations("\n".join(lines))


class Site:
    """One test's view of the live server: browser contexts (one per signed-in person), visits with axe."""

    def __init__(self, base: str, chromium, app):
        self.base = base
        self.chromium = chromium
        self.app = app
        self.contexts = []
        self.visited: list[str] = []

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    def new_page(self, **context_options):
        context = self.chromium.new_context(viewport={"width": 1280, "height": 900}, **context_options)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        return context.new_page()

    def check(self, page, context: str = ""):
        """axe on whatever the page shows now (after a navigation or a form submit)."""
        page.wait_for_load_state("load")
        self.visited.append(page.url)
        axe_check(page, context)
        return page

    def visit(self, page, path: str, status: int | None = 200):
        release_database()
        response = page.goto(self.url(path))
        if status is not None:
            assert response is not None and response.status == status, (path, response and response.status)
        return self.check(page, path)

    def submit(self, page, button_name: str, status: int | None = None):
        """Press a button (by its accessible name) that submits a form; axe the page that comes back."""
        release_database()
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name=button_name, exact=True).click()
        response = navigation.value
        if status is not None:
            assert response is not None and response.status == status, (
                button_name,
                response and response.status,
                page.url,
            )
        return self.check(page, f"after {button_name}")

    def follow(self, page, link_name: str, status: int | None = 200, within=None):
        """Follow a link (by its accessible name, optionally inside a locator); axe the page it opens."""
        release_database()
        scope = within if within is not None else page
        with page.expect_navigation() as navigation:
            scope.get_by_role("link", name=link_name, exact=True).first.click()
        if status is not None:
            assert navigation.value is not None and navigation.value.status == status, (link_name, page.url)
        return self.check(page, f"link {link_name}")

    def open_task(self, page, title: str, child: str = "Jamie Doe"):
        """From the inbox, open the task `title` for `child`."""
        self.visit(page, "/inbox")
        row = (
            page.locator("tbody tr").filter(has_text=child).filter(has=page.get_by_role("link", name=title, exact=True))
        )
        assert row.count() >= 1, f"no {title!r} for {child} in the inbox of {page.url}: {page.inner_text('main')[:800]}"
        return self.follow(page, title, within=row.first)

    def sign_in(self, username: str, page=None):
        """A fresh browser (own cookies) signed in through the sign-in page."""
        if users.get_by_username(username) is None:  # a test may have made its own (e.g. a partner)
            make_people([username])
        page = page or self.new_page()
        self.visit(page, "/sign-in")
        page.get_by_label("Username", exact=True).fill(username)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        self.submit(page, "Sign in")
        assert page.url.endswith("/inbox"), page.url
        return page

    def close(self):
        for context in self.contexts:
            context.close()


TRIAGE = {
    "closed_within_12_weeks_same_concerns": False,
    "risk_may_become_significant_harm": False,
    "meets_disability_criteria": False,
    "analysis": "First analysis of the concerns.",
    "transfer_to_social_care": False,
}


AGREE = {"manager_decision": "agree", "family_notification": "send"}


def group(page, legend: str):
    """A fieldset by its legend (radios, checkboxes, yes/no), with or without " (optional)"."""
    return page.get_by_role("group", name=re.compile(rf"^{re.escape(legend)}( \(optional\))?$"))


def choose(page, legend: str, option: str) -> None:
    group(page, legend).get_by_label(option, exact=True).check()


def service_manager(name: str):
    user = users.get_by_username(name)
    if user is None:
        user = users.create_user(name, PASSWORD, ["service_manager"])
    release_database()
    return user


def sign_in(site, username: str):
    page = site.new_page()
    site.visit(page, "/sign-in")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    site.submit(page, "Sign in")
    return page


def watch_console(page) -> list[str]:
    """Collect CSP violations and script errors the page reports."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    return problems


def wait_ready(page) -> None:
    page.wait_for_selector("#app-editor[data-ready], #app-case-diagram[data-ready]", state="attached")
    ready = page.locator("[data-ready]").first.get_attribute("data-ready")
    assert ready == "true", page.inner_text("main")[:1000]
