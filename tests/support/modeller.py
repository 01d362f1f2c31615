"""The modeller's file editors in a signed-in browser: URLs, saving a file, service managers."""

from __future__ import annotations

from app.services.people import users
from tests.support import PASSWORD
from tests.support.pages import Browser


def manager(name: str = "sm"):
    user = users.get_by_username(name)
    return user or users.create_user(name, PASSWORD, ["service_manager"])


def sm_browser(ctx, name: str = "sm") -> Browser:
    manager(name)
    browser = Browser(ctx)
    browser.sign_in(name)
    return browser


def edit_url(draft, path: str) -> str:
    return f"/modeller/drafts/{draft.id}/files/{path}"


def save(browser: Browser, draft, path: str, content: str, version: int, as_json: bool = True):
    token = browser.csrf_from("/inbox")
    headers = {"Accept": "application/json"} if as_json else {}
    return browser.client.post(
        edit_url(draft, path),
        data={"csrf_token": token, "content": content, "expected_version": str(version)},
        headers=headers,
    )
