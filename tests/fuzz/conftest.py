"""The bounded schemathesis run (issue 13): only with MASH_FUZZ=1 (tools/ci/schemathesis.sh), never in
the ordinary `make test` run."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "fuzz: property-based API fuzzing against the OpenAPI document "
        "(run by tools/ci/schemathesis.sh with MASH_FUZZ=1)",
    )


def pytest_collection_modifyitems(config, items):
    if os.environ.get("MASH_FUZZ") == "1":
        return
    skip = pytest.mark.skip(reason="fuzzing runs from tools/ci/schemathesis.sh (MASH_FUZZ=1)")
    for item in items:
        if item.get_closest_marker("fuzz") is not None:
            item.add_marker(skip)
