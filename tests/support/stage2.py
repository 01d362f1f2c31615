"""Stage 2 through the API: a case taken to the partner agencies' requests, their sign-in and their answers."""

from __future__ import annotations

from app.services.people import users
from tests.support.flow import AGREE, Flow
from tests.support.stage1 import TRIAGE

CANARY = "CANARY-51b2-STAGE2-SOFT-INTEL"


PARTNERS = {"nurse": "health", "edu": "education"}


PARTNER_PASSWORD = "a-long-password-1"


def partner_answer(text, sensitive=None):
    response = {
        "information": [{"text": text, "verified": True}, {"text": "Neighbour reports shouting", "verified": False}],
        "analysis": f"{text}: so what for the child",
        "recommendation": "Assessment",
    }
    if sensitive:
        response.update({"sensitive_information": sensitive, "sensitive_holder": "DS Smith, PVP"})
    return {"agency_response": response}


def sign_in_partners(flow, client):
    """API tokens are short-lived: after moving the clock, everyone signs in again."""
    flow.api.tokens.clear()
    for username in PARTNERS:
        token = client.post("/api/v1/auth/token", json={"username": username, "password": PARTNER_PASSWORD})
        flow.api.tokens[username] = token.json["access_token"]


def to_stage2(client):
    flow = Flow(client)
    for username, agency in PARTNERS.items():
        users.create_user(username, PARTNER_PASSWORD, ["partner"], agency=agency)
    sign_in_partners(flow, client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear"})
    assert flow.instance()["rag"] == "AMBER"
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "AMBER"})
    return flow


def request_agencies(flow, agencies):
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": agencies,
            "request_details": "Unexplained bruising; is the family known?",
            "agency_reasons": [{"agency": a, "reason": f"{a} may hold information"} for a in agencies],
        },
    )
