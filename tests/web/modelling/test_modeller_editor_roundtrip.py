"""The BPMN editor keeps what the host reads: every process file, read and written by the same
bpmn-moddle bpmn-js uses with our spiffworkflow descriptor (app/static/modeller/spiffworkflow-moddle.js),
comes back with no warning and every spiffworkflow element, documentation and loop reference kept.
Runs node on the installed npm packages (skipped when they are not installed)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from app.config import ROOT

pytestmark = [pytest.mark.subprocess, pytest.mark.e2e]  # starts other processes

SCRIPT = r"""
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
const root = process.argv[1];
const require = createRequire(root + "/node_modules/bpmn-js/package.json");
const { BpmnModdle } = require("bpmn-moddle");
const src = readFileSync(root + "/app/static/modeller/spiffworkflow-moddle.js", "utf8");
const spiff = (await import("data:text/javascript," + encodeURIComponent(src))).default;
const result = {};
for (const file of process.argv.slice(2)) {
  const moddle = new BpmnModdle({ spiffworkflow: spiff });
  const { rootElement, warnings } = await moddle.fromXML(readFileSync(file, "utf8"));
  const { xml } = await moddle.toXML(rootElement, { format: true });
  result[file] = { warnings: warnings.map((w) => w.message), xml };
}
console.log(JSON.stringify(result));
"""
TAGS = (
    "spiffworkflow:property ",
    "spiffworkflow:instructionsForEndUser",
    "spiffworkflow:calledDecisionId",
    "spiffworkflow:serviceTaskOperator ",
    "spiffworkflow:parameter ",
    "spiffworkflow:postScript",
    "spiffworkflow:preScript",
    "spiffworkflow:messageVariable",
    "bpmn:documentation",
    "bpmn:loopDataInputRef",
    "bpmn:loopDataOutputRef",
    "bpmn:timeDate",
    "bpmn:timeDuration",
    "bpmn:conditionExpression",
)


@pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "bpmn-js").exists(),
    reason="node and the npm packages are needed (make install)",
)
def test_every_process_round_trips_through_the_editor_model_without_losing_anything():
    files = sorted(str(p) for p in (ROOT / "processes").glob("*.bpmn"))
    assert files
    out = subprocess.run(
        ["node", "--input-type=module", "-e", SCRIPT, str(ROOT), *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    result = json.loads(out)
    for file in files:
        original = (ROOT / "processes" / file.rsplit("/", 1)[-1]).read_text()
        saved = result[file]["xml"]
        assert result[file]["warnings"] == [], (file, result[file]["warnings"])
        for tag in TAGS:
            assert saved.count("<" + tag) == original.count("<" + tag), (file, tag)
