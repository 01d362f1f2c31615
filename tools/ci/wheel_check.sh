#!/usr/bin/env bash
# CI: the wheel is a working app. Build it from a copy of this tree, install it into a clean venv
# (no repository on the path), then on a fresh SQLite file outside the repository:
# mash db upgrade, mash demo (models shipped inside the wheel), mash serve, and a few requests.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PY="${PYTHON:-python3}"
WORK="$(mktemp -d -t mash-wheel-XXXXXX)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { echo "== wheel check: $*"; }
fail() { echo "wheel check FAILED: $*" >&2; [ -f "$WORK/run/serve.log" ] && tail -40 "$WORK/run/serve.log" >&2; exit 1; }

# The front-end assets are built by npm (gitignored); the wheel must carry them.
if [ ! -f "$ROOT/app/static/vendor/.built" ]; then
  step "building front-end assets (make assets)"
  make -C "$ROOT" --no-print-directory assets
fi

step "building the wheel from a copy of the working tree"
mkdir -p "$WORK/src" "$WORK/dist" "$WORK/run"
tar -C "$ROOT" --exclude=./.venv --exclude=./node_modules --exclude=./instance --exclude=./build \
    --exclude='*.egg-info' --exclude=__pycache__ --exclude=./bench/results -cf - . | tar -C "$WORK/src" -xf -
"$ROOT/.venv/bin/pip" wheel -q --no-deps -w "$WORK/dist" "$WORK/src" >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log" >&2; fail "pip wheel"; }
WHEEL="$(ls "$WORK"/dist/mash_front_door-*.whl 2>/dev/null | head -1)"
[ -n "$WHEEL" ] || fail "no wheel was built"
for member in app/migrations/alembic.ini app/migrations/env.py app/migrations/script.py.mako \
              app/templates/layout.html app/static/app.css app/static/vendor/govuk-frontend/govuk-frontend.min.css \
              app/default_models/processes/front_door.bpmn app/default_models/dmn/contact_routing.dmn \
              app/default_models/forms/record_contact.schema.json; do
  "$PY" -c "import sys, zipfile; sys.exit(0 if sys.argv[2] in zipfile.ZipFile(sys.argv[1]).namelist() else 1)" \
      "$WHEEL" "$member" || fail "the wheel lacks $member"
done
echo "   $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KB)"

step "installing it into a clean venv"
"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q -c "$ROOT/constraints.txt" "$WHEEL" >"$WORK/install.log" 2>&1 \
  || { cat "$WORK/install.log" >&2; fail "pip install of the wheel"; }
MASH="$WORK/venv/bin/mash"
[ -x "$MASH" ] || fail "the wheel installed no mash command"

cd "$WORK/run"  # nothing from the repository is importable from here
unset MASH_MODELS_DIR MASH_TEST_DATABASE_URL MASH_TEST_BACKEND FLASK_APP PYTHONPATH
export MASH_CONFIG=development MASH_DATABASE_URL="sqlite:///$WORK/run/mash.db"
where="$("$WORK/venv/bin/python" -c 'import app; print(app.__file__)')"
case "$where" in "$WORK/venv/"*) ;; *) fail "app imported from $where, not from the installed wheel" ;; esac

step "mash db upgrade"; "$MASH" db upgrade >"$WORK/run/upgrade.log" 2>&1 || { cat "$WORK/run/upgrade.log"; fail "mash db upgrade"; }
step "mash demo"; "$MASH" demo || fail "mash demo"

PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
step "mash serve --workers 2 --bind 127.0.0.1:$PORT"
"$MASH" serve --workers 2 --bind "127.0.0.1:$PORT" >"$WORK/run/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 150); do
  curl -s -o /dev/null "$BASE/" && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "mash serve exited"
  sleep 0.2
done

expect() {  # expect STATUS METHOD PATH [curl args…]
  local want="$1" method="$2" path="$3"; shift 3
  local got
  got="$(curl -s -o "$WORK/run/body" -w '%{http_code}' -X "$method" "$BASE$path" "$@")"
  [ "$got" = "$want" ] || fail "$method $path gave $got, expected $want: $(head -c 300 "$WORK/run/body")"
  echo "   $method $path -> $got"
}
expect 200 GET /
expect 200 GET /static/vendor/govuk-frontend/govuk-frontend.min.css
expect 200 GET /api/v1/openapi.json
expect 200 POST /api/v1/auth/token -H 'Content-Type: application/json' \
       -d '{"username": "masho", "password": "demo-password"}'
TOKEN="$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["access_token"])' "$WORK/run/body")"
NOW="$("$PY" -c 'from datetime import datetime, timezone; print(datetime.now(timezone.utc).isoformat(timespec="seconds"))')"
expect 201 POST /api/v1/contacts -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{
  "received_at": "'"$NOW"'", "channel": "phone", "summary": "Wheel check contact.",
  "referrer": {"name": "Ann Teacher", "agency": "education", "role": "DSL", "phone": "01604 000000",
               "relationship": "teacher", "anonymous": false},
  "child": {"first_name": "Wheel", "last_name": "Check", "date_of_birth": "2016-04-01", "gender": "male",
            "address": "1 High Street"}}'
INSTANCE="$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["instance_id"])' "$WORK/run/body")"
expect 200 GET "/api/v1/instances/$INSTANCE" -H "Authorization: Bearer $TOKEN"
expect 200 GET "/api/v1/tasks?instance_id=$INSTANCE" -H "Authorization: Bearer $TOKEN"
"$PY" -c 'import json, sys; body = json.load(open(sys.argv[1])); items = body["items"] if isinstance(body, dict) else body
assert any(t["bpmn_id"] == "record_contact" for t in items), "no record_contact task"' "$WORK/run/body" \
  || fail "the new contact has no record_contact task"
echo "wheel check passed"
