#!/usr/bin/env bash
# CI (issue 13): a bounded schemathesis run against the app's own OpenAPI document: every /api/v1
# operation, a fixed seed, a few hundred generated requests each (valid and invalid) as a signed-in
# demo user; no 5xx and every body as documented (tests/fuzz/test_openapi_fuzz.py). SQLite by
# default; MASH_TEST_BACKEND=postgresql with MASH_TEST_DATABASE_URL runs it on PostgreSQL.
set -uo pipefail
cd "$(dirname "$0")/../.."
echo "== schemathesis: bounded run against /api/v1/openapi.json (MASH_FUZZ_EXAMPLES=${MASH_FUZZ_EXAMPLES:-200})"
MASH_CONFIG=test MASH_FUZZ=1 .venv/bin/pytest -q -p no:cacheprovider -s -m fuzz tests/fuzz 2>&1 \
  | grep --line-buffered -v -E "^(INFO|DEBUG) +\[|^INFO +spiff|State changed to|Initialized workflow"
status="${PIPESTATUS[0]}"
exit "$status"
