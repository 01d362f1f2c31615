"""A signed-in browser-like client for page tests: cookies, CSRF tokens from forms, parsed HTML."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests.support import PASSWORD, make_people


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


class Browser:
    def __init__(self, app, username: str | None = None):
        self.client = app.test_client()
        if username:
            make_people([username])
            self.sign_in(username)

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def csrf_from(self, url: str) -> str:
        page = soup(self.client.get(url))
        field = page.find("input", {"name": "csrf_token"})
        assert field is not None, f"no csrf token on {url}"
        return field["value"]

    def post(self, url: str, data: dict, csrf_url: str | None = None, **kw):
        token = self.csrf_from(csrf_url or url)
        return self.client.post(url, data={**data, "csrf_token": token}, **kw)

    def sign_in(self, username: str, password: str = PASSWORD):
        response = self.post("/sign-in", {"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response
