"""Issue 13 findings 6-8: no 5xx from input, authentication before body validation, the OpenAPI
document's error body, Allow on 405.
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DataError

from tests.support import Api, make_people

HUGE = "99999999999999999999999"


@pytest.fixture
def api(client):
    make_people(["masho", "dm"])
    return Api(client)


# ---- oversized ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/instances/{HUGE}",
        f"/api/v1/instances/{HUGE}/history",
        f"/api/v1/instances/{HUGE}/handover",
        f"/api/v1/instances/{2**31}",
        f"/api/v1/instances/{2**63}/timeline",
    ],
)
def test_ids_beyond_the_database_are_404_on_the_api(api, url):
    response = api.get("dm", url)
    assert response.status_code == 404 and response.json["error"] == "not_found"


@pytest.mark.parametrize("value", ["-30470000000000000000000", HUGE, str(2**31), "0", "-1"])
def test_an_oversized_instance_filter_is_422(api, value):
    response = api.get("dm", f"/api/v1/tasks?instance_id={value}")
    assert response.status_code == 422 and "instance_id" in response.json["details"]["errors"]


@pytest.mark.parametrize("url", [f"/cases/{HUGE}", f"/cases/{HUGE}/handover", f"/cases/{2**31}"])
def test_ids_beyond_the_database_are_404_on_pages(client, url):
    from tests.support.pages import Browser

    response = Browser(client.application, "dm").get(url)
    assert response.status_code == 404


class _OutOfRange(Exception):
    sqlstate = "22003"  # PostgreSQL: numeric_value_out_of_range


@pytest.mark.parametrize(
    "error",
    [
        OverflowError("Python int too large to convert to SQLite INTEGER"),
        DataError("SELECT ...", {}, _OutOfRange("integer out of range")),
    ],
)
def test_a_number_the_database_cannot_hold_is_never_a_500(api, ctx, monkeypatch, error):
    """The last resort behind the schemas and the URL converter: what SQLite's driver and PostgreSQL
    raise for a number too large for the column answers 422, not 500."""
    from app.services.cases import case_view

    def get_instance(user, instance_id):
        raise error

    monkeypatch.setattr(case_view, "get_instance", get_instance)
    response = api.get("dm", "/api/v1/instances/1")
    assert response.status_code == 422 and response.json == {
        "error": "invalid",
        "message": "A number in the request is too large",
        "details": {},
    }


# ---- bodies: too deep, too large -------------------------------------------------------------------


def _post_raw(api, username, url, body: bytes):
    headers = {"Authorization": f"Bearer {api.token(username)}"} if username else {}
    return api.client.post(url, data=body, headers=headers, content_type="application/json")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100000,
        b'{"a":' * 50000 + b"1" + b"}" * 50000,
        b"[" * 65 + b"]" * 65,
        b'{"data": ' + b"[" * 200 + b"]" * 200 + b"}",
    ],
)
@pytest.mark.parametrize("url", ["/api/v1/contacts", "/api/v1/auth/token", "/api/v1/deployments/validate"])
def test_bodies_nested_too_deeply_are_400(api, url, body):
    response = _post_raw(api, "masho", url, body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.json["error"] == "bad_request" and "nested too deeply" in response.json["message"]


def test_a_deep_body_on_a_page_that_reads_json_is_400_too(client):
    with client.application.test_request_context(
        "/x", method="POST", data=b"[" * 100000, content_type="application/json"
    ):
        from flask import request
        from werkzeug.exceptions import BadRequest

        with pytest.raises(BadRequest):
            request.get_json()


def test_a_body_over_the_limit_is_413_with_the_error_body(api, client):
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    response = _post_raw(api, "masho", "/api/v1/contacts", b'{"summary": "' + b"x" * limit + b'"}')
    assert response.status_code == 413
    assert response.json["error"] == "too_large" and response.json["details"] == {}


# ---- authentication before validation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/contacts", {"channel": "carrier_pigeon"}),
        ("/api/v1/instances/1/break-glass", {}),
        ("/api/v1/instances/1/break-glass", {"reason": ""}),
        ("/api/v1/instances/1/disputes", {"nonsense": True}),
        ("/api/v1/break-glass/1/review", {"outcome": "maybe"}),
        ("/api/v1/deployments/drafts/1/approve", {}),
    ],
)
def test_anonymous_callers_get_401_before_any_field_errors(client, url, body):
    response = client.post(url, json=body)
    assert response.status_code == 401, response.json
    assert response.json["error"] == "unauthorised" and "errors" not in response.json["details"]


def test_anonymous_callers_get_401_before_a_broken_body_or_query(client):
    assert client.post("/api/v1/contacts", data=b"[" * 1000, content_type="application/json").status_code == 401
    assert client.get("/api/v1/tasks?limit=0").status_code == 401


def test_signed_in_callers_still_get_their_field_errors(api):
    response = api.post("dm", "/api/v1/instances/1/break-glass", {})
    assert response.status_code == 422 and "reason" in response.json["details"]["errors"]


def test_sign_in_stays_public(client):
    response = client.post("/api/v1/auth/token", json={"username": "x"})
    assert response.status_code == 422 and "password" in response.json["details"]["errors"]


# ---- the OpenAPI document and 405 ------------------------------------------------------------------


def test_the_openapi_document_describes_the_error_body_the_api_returns(client):
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    default = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]["application/json"]["schema"]
    name = default["$ref"].rsplit("/", 1)[-1]
    assert set(schemas[name]["properties"]) == {"error", "message", "details"}
    assert set(schemas[name]["required"]) == {"error", "message", "details"}
    assert "code" not in schemas[name]["properties"]
    unprocessable = spec["components"]["responses"][
        "UNPROCESSABLE_CONTENT"
        if "UNPROCESSABLE_CONTENT" in spec["components"]["responses"]
        else "UNPROCESSABLE_ENTITY"
    ]
    assert unprocessable["content"]["application/json"]["schema"]["$ref"].endswith(name)
    path = spec["paths"]["/api/v1/instances/{instance_id}"]
    (param,) = [p for p in path["parameters"] if p["name"] == "instance_id"]
    assert param["schema"]["maximum"] == 2**31 - 1


def test_405_carries_allow_on_the_api_and_pages(client):
    response = client.delete("/api/v1/auth/token")
    assert response.status_code == 405 and response.json["error"] == "method_not_allowed"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}
    response = client.put("/sign-in")
    assert response.status_code == 405 and {"GET", "POST"} <= set(response.headers["Allow"].replace(" ", "").split(","))


# ---- text the database cannot store (found by the schemathesis run on PostgreSQL) -----------------


@pytest.mark.parametrize("text", ["ab\x00cd", "lone \ud83d surrogate"])
def test_a_nul_or_a_lone_surrogate_in_a_json_body_is_400(api, text):
    import json

    body = json.dumps({"username": text, "password": "x"}).encode()  # \u0000 / \ud83d escapes
    response = api.client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert response.status_code == 400 and "cannot be stored" in response.json["message"]
    response = _post_raw(api, "masho", "/api/v1/contacts", json.dumps({"summary": text}).encode())
    assert response.status_code == 400


def test_a_nul_in_a_query_string_form_or_path_is_400(api, client):
    assert api.get("dm", "/api/v1/tasks?cursor=%00").status_code == 400
    assert api.client.get("/api/v1/tasks?cursor=%00").status_code == 401  # still: who are you, first
    response = client.post("/sign-in", data={"username": "a\x00b", "password": "x"})
    assert response.status_code == 400
    assert client.get("/refer?x=%00").status_code == 400


def test_a_multipart_part_without_a_name_is_not_a_500(api):
    """Found by schemathesis: werkzeug keeps a form field without a name under the key None."""
    body = b"--b\r\nContent-Disposition: form-data\r\n\r\nxx\r\n--b--\r\n"
    response = api.client.post(
        "/api/v1/deployments/validate",
        data=body,
        headers={"Authorization": f"Bearer {api.token('masho')}"},
        content_type="multipart/form-data; boundary=b",
    )
    assert response.status_code == 403
