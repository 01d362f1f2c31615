"""Issue 15: the duration widget's conversions (app/static/modeller/durations.js) — a number and a
unit (hours / working hours / working days) to and from the ISO value the models store. Run in
Node (the module's conversions need no DOM); skipped where Node is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from app.config import ROOT

pytestmark = [pytest.mark.subprocess, pytest.mark.e2e]  # starts other processes

NODE = shutil.which("node")
SCRIPT = """
const m = await import(process.argv[1]);
const out = {
  parse8h: m.parseIso("PT8H"), parse1d: m.parseIso("P1D"), parse30m: m.parseIso("PT30M"),
  parseMixed: m.parseIso("P1DT2H"),
  working: m.fromValue("PT8H", "working"), elapsed: m.fromValue("P2D", "elapsed"),
  plain: m.fromValue("PT4H", undefined),
  none: m.fromValue(null, "working"), expression: m.fromValue("outcome_due_at", undefined),
  six: m.toValue("6", "working_hours", true), days: m.toValue("2", "days", true),
  plainDays: m.toValue("3", "days", false),
  noTime: m.toValue("", "", true), bad: m.toValue("six", "hours", true), negative: m.toValue("-1", "hours", false),
  words: [m.describe("PT8H", "working"), m.describe("P1D", "working"), m.describe("PT4H", "elapsed"), m.describe(null)],
};
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_durations_convert_between_number_and_unit_and_iso():
    module = (ROOT / "app" / "static" / "modeller" / "durations.js").as_uri()
    result = subprocess.run(
        [NODE, "--input-type=module", "-e", SCRIPT, module], capture_output=True, text=True, timeout=60, check=True
    )
    out = json.loads(result.stdout)
    assert out["parse8h"] == {"amount": 8, "unit": "hours"}
    assert out["parse1d"] == {"amount": 1, "unit": "days"}
    assert out["parse30m"] == {"amount": 30, "unit": "minutes"}
    assert out["parseMixed"] is None  # not one number and one unit: edited as text
    assert out["working"] == {"amount": "8", "unit": "working_hours"}
    assert out["elapsed"] == {"amount": "2", "unit": "days"}
    assert out["plain"] == {"amount": "4", "unit": "hours"}
    assert out["none"] == {"amount": "", "unit": ""}
    assert out["expression"] is None
    assert out["six"] == {"iso": "PT6H", "calendar": "working"}
    assert out["days"] == {"iso": "P2D", "calendar": "elapsed"}
    assert out["plainDays"] == {"iso": "P3D"}
    assert out["noTime"] == {"iso": None, "calendar": None}
    assert "whole number" in out["bad"]["error"] and "whole number" in out["negative"]["error"]
    assert out["words"] == ["8 working hours", "1 working day", "4 hours", "no time"]
