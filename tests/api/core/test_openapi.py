def test_openapi_document_lists_every_v1_route(client):
    spec = client.get("/api/v1/openapi.json").json
    assert set(spec["paths"]) >= {
        "/api/v1/auth/token",
        "/api/v1/contacts",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}/complete",
        "/api/v1/instances/{instance_id}",
        "/api/v1/instances/{instance_id}/history",
    }


def test_contact_validation_errors_are_per_field_and_nothing_is_created(client):
    from tests.support import Api, make_people

    make_people(["masho", "auditor"])
    api = Api(client)
    response = api.post("masho", "/api/v1/contacts", {"channel": "carrier_pigeon", "child": {"first_name": "A"}})
    assert response.status_code == 422
    errors = response.json["details"]["errors"]
    assert "channel" in errors and "child" in errors
    assert api.get("masho", "/api/v1/tasks").json == []


def test_only_a_masho_records_contacts(client):
    from tests.support import Api, make_people
    from tests.support.flow import contact

    make_people(["dm"])
    response = Api(client).post("dm", "/api/v1/contacts", contact())
    assert response.status_code == 403


def test_responses_carry_security_headers(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "object-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "999" in response.get_data(as_text=True)
