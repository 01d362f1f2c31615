"""Real Chromium against a live server of the test app, with axe-core on every page.

The session-scoped `app` of tests/conftest.py is served by werkzeug in a daemon thread; each test
reuses `ctx` (empty database, models deployed, CLOCK frozen — the clock is process-global, so the
server thread sees the same frozen time). Pages are driven with Playwright's sync API on Debian's
/usr/bin/chromium (`make test` installs it).

axe-core is injected from the app's own origin (/static/vendor/axe/axe.min.js, built by
`npm run build`), so the pages keep their real CSP (`script-src 'self'`) during the checks.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.config import ROOT
from app.extensions import db
from app.services import users
from tests.api.flow import Flow
from tests.support import PASSWORD, Api, make_people

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "app" / "static" / "vendor" / "axe" / "axe.min.js"
AXE_URL = "/static/vendor/axe/axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def skip_reason() -> str | None:
    """Why the browser suite cannot run here (None when it can)."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (make test installs it: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed in this environment"
    if not AXE.exists():
        return f"{AXE.relative_to(ROOT)} is missing: run `npm run build`"
    return None


def pytest_collection_modifyitems(config, items):
    reason = skip_reason()
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def live_server(app):
    """The test app served over real HTTP on a free port: yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


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
        from tests.api.flow import contact
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
                lines.append(f"    {' '.join(map(str, node['target']))}: {node['failureSummary'].splitlines()[-1].strip()}"
                             f"\n      {node['html'][:200]}")
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
            assert response is not None and response.status == status, (button_name, response and response.status,
                                                                       page.url)
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
        row = page.locator("tbody tr").filter(has_text=child).filter(
            has=page.get_by_role("link", name=title, exact=True))
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


@pytest.fixture()
def site(ctx, live_server, chromium):
    # the per-address referral limit lives in the database (throttle_hits), emptied by ctx for every test
    make_people()
    release_database()
    s = Site(live_server, chromium, ctx)
    yield s
    s.close()
