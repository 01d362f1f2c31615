"""Issue 13: a model that exceeds a budget is refused with a clear problem (file, element, what to
change), never a 500 and never a hang — through POST /api/v1/deployments/validate and the deploy."""

from __future__ import annotations

import pytest

from app.services.modelling import deployments
from app.services.people import users
from tests.support import PASSWORD, Api, models_dir

DMN = "dmn/contact_routing.dmn"
ISSUE_EXPRESSION = 'request_type if len([add_working(now(), "PT87000H") for i in range(15)]) >= 0 else request_type'
COSTLY_EXPRESSION = 'request_type if len([add_working(now(), "PT1500H") for i in range(15)]) >= 0 else request_type'


@pytest.fixture
def api(client):
    users.create_user("sm1", PASSWORD, ["service_manager"])
    return Api(client)


def with_input(expression: str) -> dict[str, str]:
    source = deployments.read_model_dir(models_dir())[DMN].decode()
    text = expression.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert "<text>request_type</text>" in source
    return {DMN: source.replace("<text>request_type</text>", f"<text>{text}</text>", 1)}


def errors_of(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return [p for p in response.json if p["severity"] == "error"]


def test_the_issue_expression_is_a_clear_problem_through_validate(api):
    found = errors_of(api.post("sm1", "/api/v1/deployments/validate", with_input(ISSUE_EXPRESSION)))
    assert found and found[0]["file"] == "dmn/contact_routing.tests.json"
    assert found[0]["element_id"] == "contact_routing"
    assert "durations over 1 year are refused" in found[0]["message"]
    assert len(found) <= 3  # one problem per cause, not one per example


def test_a_costly_expression_is_a_clear_problem_through_validate_and_deploy(api):
    found = errors_of(api.post("sm1", "/api/v1/deployments/validate", with_input(COSTLY_EXPRESSION)))
    assert found and "step limit" in found[0]["message"] and "make it do less" in found[0]["message"]
    response = api.post("sm1", "/api/v1/deployments", with_input(COSTLY_EXPRESSION))
    assert response.status_code == 422
    assert deployments.latest().version == 1


def test_a_30000_term_expression_is_a_problem_not_a_500(api):
    found = errors_of(api.post("sm1", "/api/v1/deployments/validate", with_input("+".join(["1"] * 30000))))
    assert any(p["file"] == DMN and "too long" in p["message"] for p in found)
    response = api.post("sm1", "/api/v1/deployments", with_input("+".join(["1"] * 30000)))
    assert response.status_code == 422


def test_a_5000_digit_feel_number_is_a_problem_not_a_500(api):
    source = deployments.read_model_dir(models_dir())[DMN].decode()
    assert '<text>"advice"</text>' in source
    body = {DMN: source.replace('<text>"advice"</text>', "<text>" + "9" * 5000 + "</text>", 1)}
    found = errors_of(api.post("sm1", "/api/v1/deployments/validate", body))
    assert any(p["file"] == DMN and "number too long" in p["message"] for p in found)


def test_a_long_gateway_condition_names_its_element(api):
    bpmn = deployments.read_model_dir(models_dir())["processes/front_door.bpmn"].decode()
    marker = "<bpmn:conditionExpression"
    start = bpmn.index(marker)
    body_start = bpmn.index(">", start) + 1
    end = bpmn.index("</bpmn:conditionExpression>", body_start)
    body = {"processes/front_door.bpmn": bpmn[:body_start] + "+".join(["1"] * 30000) + bpmn[end:]}
    found = errors_of(api.post("sm1", "/api/v1/deployments/validate", body))
    assert any(
        p["file"] == "processes/front_door.bpmn" and p["element_id"] and "too long" in p["message"] for p in found
    )
