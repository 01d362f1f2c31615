"""A whole Stage 2 journey through the API with each worker's live workflows on (issue 17) and off gives the same
history and outcome: partner requests (a multi-instance activity), an escalation message, a timer fired by the
scheduler, a challenge loop and the handover. With the cache on most runs continue from the live workflow, each
one checked against the stored state and a restore of it (LIVE_WORKFLOWS_VERIFY, on in the test configuration)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from app.config import Config
from app.engine.clock import CLOCK
from app.services.cases import persist
from app.services.core import engine_host, timers
from app.services.modelling import deployments
from tests.conftest import _empty_tables
from tests.support import models_dir
from tests.support.stage2 import partner_answer, request_agencies, to_stage2

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _journey(client) -> tuple[str, str]:
    flow = to_stage2(client)
    request_agencies(flow, ["police", "health", "education"])
    police = flow.task("police", "partner_answer")
    sent = flow.api.post(
        "police",
        f"/api/v1/tasks/{police['id']}/message",
        {"data": {"phoned_manager": True, "told_whom": "MASH manager", "reason": "Father released today"}},
    )
    assert sent.status_code == 200, sent.json
    flow.do("mgr", "heightened_risk_review", {"protective_action": "Strategy discussion", "raise_rag_to_red": True})
    flow.do("police", "partner_answer", partner_answer("Two domestic call-outs this year"))
    flow.do("nurse", "partner_answer", partner_answer("Health visitor: missed appointments"))
    CLOCK.advance(timedelta(hours=5))  # education is late
    assert timers.fire_due() >= 1
    flow.do("mgr", "late_answers", {"late_decision": "extend", "late_reason": "Records", "extended_due_at": None}, 422)
    flow.do(
        "mgr",
        "late_answers",
        {"late_decision": "extend", "late_reason": "Records", "extended_due_at": "2026-11-24T18:00:00+00:00"},
    )
    flow.do("edu", "partner_answer", partner_answer("Attendance 82%"))
    collated = {
        "revised_rag": "RED",
        "rag_reason": "Heightened risk confirmed",
        "recommended_outcome": "s47_strategy",
        "rationale": "Risk of significant harm",
        "other_sources": [],
    }
    flow.do("dm", "stage2_collation", {**collated, "recommended_outcome": "s17_assessment"})
    flow.do("mgr", "stage2_review", {"manager_decision": "challenge", "manager_comments": "Police information: s47"})
    flow.do("dm", "stage2_collation", collated)
    flow.do("mgr", "stage2_review", {"manager_decision": "agree", "manager_comments": None})
    flow.do("daat", "handover", {"handover_accepted": True})
    return _ids_in_order(json.dumps(flow.history(), sort_keys=True)), _ids_in_order(
        json.dumps(flow.instance(), sort_keys=True)
    )


def _ids_in_order(text: str) -> str:
    """Task ids are random: each becomes its place among the ids the text names (the same for the same journey)."""
    seen: dict[str, str] = {}
    return UUID.sub(lambda m: seen.setdefault(m.group(0), f"id-{len(seen)}"), text)


def _fresh_database() -> None:
    """What the `ctx` fixture gives a test: an empty database, nothing cached, the models deployed as version 1."""
    _empty_tables()
    persist.engine_host_version.cache_clear()
    engine_host.forget_all()
    CLOCK.freeze(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    deployments.deploy(deployments.read_model_dir(models_dir()), actor_name="tests")


def test_a_journey_gives_the_same_history_and_outcome_with_live_workflows_on_and_off(client, monkeypatch):
    cache = engine_host.live_cache()
    hits = cache.hits  # counted since the worker started
    monkeypatch.setitem(client.application.config, "LIVE_WORKFLOWS", 0)
    off = _journey(client)
    assert cache.hits == hits

    _fresh_database()
    monkeypatch.setitem(client.application.config, "LIVE_WORKFLOWS", 32)
    on = _journey(client)
    if Config.FRESH_BUNDLES:  # every run has its own bundle: the restore path is what runs, with the cache on too
        assert cache.hits == hits
    else:
        assert cache.hits - hits >= 15  # nearly every step continued from the live workflow (and was verified)

    assert on == off
    history, case = json.loads(on[0]), json.loads(on[1])
    assert (case["route"], case["rag"]) == ("s47_strategy", "RED")
    assert [e["bpmn_id"] for e in history if e["type"] == "task_completed"][-1] == "handover"
    assert sum(e["type"] == "timer_fired" for e in history) >= 1
