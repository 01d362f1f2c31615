from tests.support import Api, make_people


def test_token_then_logout_revokes_it(client):
    make_people(["masho"])
    api = Api(client)
    assert api.get("masho", "/api/v1/tasks").status_code == 200
    assert api.post("masho", "/api/v1/auth/logout").status_code == 204
    response = api.get("masho", "/api/v1/tasks")
    assert response.status_code == 401
    assert response.json["error"] == "unauthorised"


def test_wrong_password_is_401_with_a_message_and_no_token(client):
    make_people(["masho"])
    response = client.post("/api/v1/auth/token", json={"username": "masho", "password": "nope"})
    assert response.status_code == 401
    assert response.json == {"error": "unauthorised", "message": "Incorrect username or password", "details": {}}


def test_unknown_fields_are_rejected(client):
    response = client.post("/api/v1/auth/token", json={"username": "a", "password": "b", "admin": True})
    assert response.status_code == 422
    assert "admin" in response.json["details"]["errors"]


def test_every_api_route_requires_a_token_or_is_marked_public(ctx):
    unprotected = []
    for rule in ctx.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs"):
            continue
        view = ctx.view_functions[rule.endpoint]
        marked = [getattr(v, "login_required", False) or getattr(v, "public", False) for v in _unwrap_chain(view)]
        if not any(marked):
            unprotected.append(rule.rule)
    assert unprotected == []


def _unwrap_chain(view):
    while view is not None:
        yield view
        view = getattr(view, "__wrapped__", None)


def test_passwords_are_stored_as_argon2_hashes(ctx):
    from app.services.people import users

    make_people(["masho"])
    assert users.get_by_username("masho").password_hash.startswith("$argon2")
