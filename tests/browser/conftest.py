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
from tests.support import make_people
from tests.support.browser import Site, release_database

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "app" / "static" / "vendor" / "axe" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


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
    """Every test here is a `browser` and `e2e` test (tests/conftest.py declares them); all are skipped,
    saying why, when Chromium or the built assets are missing."""
    reason = skip_reason()
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.e2e)
            if reason is not None:
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


@pytest.fixture
def site(ctx, live_server, chromium):
    # the per-address referral limit lives in the database (throttle_hits), emptied by ctx for every test
    make_people()
    release_database()
    s = Site(live_server, chromium, ctx)
    yield s
    s.close()


@pytest.fixture
def modeller_site(live_server, chromium, ctx):
    """The live site for the modeller's browser tests, as `site` (tests/browser/conftest.py) but making no
    people and leaving the limits as they are: those tests make their own service managers."""
    s = Site(live_server, chromium, ctx)
    yield s
    for context in s.contexts:
        context.close()
