"""`mash repair`: cases stopped by the SpiffWorkflow restore bug (a multi-instance merge hook that lived
only on one worker's spec objects, issue 11) are found by a dry run, then repaired and recorded."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from app.cli import main
from app.config import Config
from app.engine import loader
from app.services.cases import repair
from app.services.core import engine_host, history
from tests.support.stage2 import partner_answer, to_stage2


def _changes(instance_id: int) -> list[str]:
    return [e.type for e in history.for_instance(instance_id) if e.type != "viewed"]


@pytest.fixture
def stuck_stage2(client, monkeypatch):
    """A Stage 2 case whose partner answers were taken by "another worker" that lacked the merge hook."""
    flow = to_stage2(client)
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": ["police", "health"],
            "request_details": "Is the family known?",
            "agency_reasons": [{"agency": a, "reason": f"{a} may know the household"} for a in ("police", "health")],
        },
    )
    monkeypatch.setattr(loader, "connect_restore_hooks", lambda specs: None)  # the engine as it was
    engine_host.use_fresh_bundles(True)
    try:
        flow.do("police", "partner_answer", partner_answer("Two call-outs"))
        flow.do("nurse", "partner_answer", partner_answer("Missed appointments"))
    finally:
        engine_host.use_fresh_bundles(Config.FRESH_BUNDLES)  # as the run set it (MASH_FRESH_BUNDLES=1 keeps it on)
        monkeypatch.undo()
    assert not [t for t in flow.ready("dm") if t["bpmn_id"] == "stage2_collation"]  # stuck, as in production
    return flow


def test_a_dry_run_lists_the_stuck_case_and_changes_nothing(stuck_stage2):
    flow = stuck_stage2
    before = _changes(flow.instance_id)
    (case,) = repair.find_and_repair()
    assert (case.instance_id, case.repaired) == (flow.instance_id, False)
    assert [(s["bpmn_id"], s["kind"], len(s["instances"])) for s in case.steps] == [
        ("partner_answer", "unmerged_instances", 2)
    ]
    assert _changes(flow.instance_id) == before
    assert not [t for t in flow.ready("dm") if t["bpmn_id"] == "stage2_collation"]


def test_repair_merges_the_answers_runs_the_case_on_and_records_it(stuck_stage2):
    flow = stuck_stage2
    result = CliRunner().invoke(main, ["repair", "--apply"])
    assert result.exit_code == 0, result.output
    assert f"case {flow.instance_id} [front_door]: repaired" in result.output
    collation = flow.task("dm", "stage2_collation")
    assert len(collation["data"]["agency_responses"]) == 2  # both answers merged, none lost
    (event,) = [e for e in history.for_instance(flow.instance_id) if e.type == repair.REPAIRED]
    assert event.detail["steps"] == [{"bpmn_id": "partner_answer", "kind": "unmerged_instances", "instances": 2}]
    assert repair.find_and_repair() == []  # nothing left; a second run changes nothing
    assert "0 case(s) found stuck" in CliRunner().invoke(main, ["repair"]).output
