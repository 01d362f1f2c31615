"""Issue 16: a deployment validates then builds from one parse of each file, and every problem it
refuses with is a structured value (rule id, severity, file, element, line, message)."""

from __future__ import annotations

from collections import Counter

import pytest

from app.engine import loader
from app.services.core import engine_host
from app.services.core.errors import Invalid
from app.services.modelling import deployments, model_checks
from tests.support import models_dir


@pytest.fixture
def parses(monkeypatch):
    counted: Counter = Counter()
    real = loader.parse_model_xml

    def parse(content, filename):
        counted[filename] += 1
        return real(content, filename)

    monkeypatch.setattr(loader, "parse_model_xml", parse)
    return counted


def _new_model_set() -> dict[str, bytes]:
    """The repository's models with one label changed: a content hash nothing has built yet."""
    files = deployments.read_model_dir(models_dir())
    files["processes/front_door.bpmn"] = files["processes/front_door.bpmn"].replace(
        b'name="Record contact"', b'name="Record the contact"', 1
    )
    assert files["processes/front_door.bpmn"] != deployments.read_model_dir(models_dir())["processes/front_door.bpmn"]
    return files


def test_deploying_parses_each_model_file_once(ctx, parses):
    files = _new_model_set()
    deployment, created = deployments.deploy(files, actor_name="tests")
    assert created and deployment.bundle_hash == loader.bundle_hash(files)
    xml_files = sorted(p for p in files if p.endswith((".bpmn", ".dmn")))
    assert parses == Counter(dict.fromkeys(xml_files, 1))  # the checks' parse: the build took their bundle
    assert engine_host.bundle_for(deployment.id).bundle_hash == deployment.bundle_hash


def test_the_checked_bundle_is_kept_only_for_a_few_model_sets(ctx):
    for n in range(engine_host.CHECKED_BUNDLES_KEPT + 3):
        files = _new_model_set()
        files["processes/front_door.bpmn"] += f"<!-- {n} -->".encode()
        model_checks.problems(files)
    assert len(engine_host._checked) <= engine_host.CHECKED_BUNDLES_KEPT


def test_a_refused_deployment_carries_structured_problems(ctx):
    files = _new_model_set()
    files["processes/front_door.bpmn"] = files["processes/front_door.bpmn"].replace(
        b"<spiffworkflow:calledDecisionId>rag_timescales<", b"<spiffworkflow:calledDecisionId>rag_timescale<", 1
    )
    with pytest.raises(Invalid) as info:
        deployments.deploy(files, actor_name="tests")
    errors = [p for p in info.value.details["problems"] if p["severity"] == "error"]
    (problem,) = errors
    assert problem["rule"] == "missing-decision" and problem["file"] == "processes/front_door.bpmn"
    assert problem["element"] and problem["element_id"] == problem["element"] and problem["line"]
    assert set(problem) >= {"rule", "severity", "file", "element", "line", "message"}
    assert "'rag_timescale' does not exist" in problem["message"]
