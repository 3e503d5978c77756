#!/usr/bin/env bash
# Schemathesis against the served OpenAPI document: generated requests (valid and invalid) for
# every operation, as a patient and as a clinician at once, for a bounded time. Fails on any
# server error, on an answer the document does not promise (status, content type, headers,
# body schema). Runs the debug binary on 127.0.0.1 with a fresh SQLite data dir; everything it
# starts or makes is removed on exit.
#
# Not checked, and why: `positive_data_acceptance` and `negative_data_rejection` need the
# schema to say exactly which bodies are valid. A case is "an object of facts" whose validity
# depends on the vocabulary and on the facts together (a question that does not apply must
# not be answered), which JSON Schema does not express; crates/web/tests/it/fuzz.rs checks those answers.
#
# Usage: scripts/schemathesis.sh [MAX_SECONDS]   (default 120; the whole script stays under 3
# minutes once the venv and the binary exist)
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_TIME=${1:-120}
VENV=${SCHEMATHESIS_VENV:-.venv-schemathesis}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

if [[ ! -x "$VENV/bin/schemathesis" ]]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-schemathesis.txt
cargo build --locked -p aftercare --quiet
BIN=$CARGO_TARGET_DIR/debug/aftercare

WORK=$(mktemp -d)
SERVER=
cleanup() {
  if [[ -n "$SERVER" ]]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

run() { env -u DATABASE_URL "$BIN" "$@"; }
day() { date -u -d "$1 days ago" +%F; }
run admin create-clinic --data-dir "$WORK" --slug fuzz --name "Fuzz clinic" >/dev/null
TOKEN=$(run admin enrol-patient --data-dir "$WORK" --clinic fuzz --name "P. Fuzz" \
  --procedure labour_epidural --procedure-date "$(day 3)" --delivery-date "$(day 3)" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["link_token"])')
PASSWORD="schemathesis $(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
AFTERCARE_ADMIN_PASSWORD=$PASSWORD run admin create-user --data-dir "$WORK" --clinic fuzz \
  --email nurse@fuzz.example --name Nurse --role clinician >/dev/null

# --insecure-cookies: the session cookie comes back over plain HTTP to curl.
env -u DATABASE_URL RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK" \
  --insecure-cookies >"$WORK/out" 2>"$WORK/err" &
SERVER=$!
BASE=
for _ in $(seq 1 100); do
  BASE=$(sed -n 's/^aftercare listening on //p' "$WORK/out")
  [[ -n "$BASE" ]] && break
  sleep 0.1
done
[[ -n "$BASE" ]] || { echo "the server did not start:" >&2; cat "$WORK/err" >&2; exit 1; }

# A clinician session: its cookie and CSRF token go with every request, next to the patient's
# bearer token, so the staff operations are exercised past authentication.
LOGIN=$(python3 - "$BASE" "$PASSWORD" <<'PY'
import json, sys, urllib.request
base, password = sys.argv[1], sys.argv[2]
req = urllib.request.Request(base + "/api/v1/clinic/session", method="POST",
    data=json.dumps({"email": "nurse@fuzz.example", "password": password}).encode(),
    headers={"content-type": "application/json"})
with urllib.request.urlopen(req) as res:
    cookie = res.headers["set-cookie"].split(";")[0]
    print(cookie, json.load(res)["csrf_token"])
PY
)
read -r COOKIE CSRF <<<"$LOGIN"

# The coverage phase is left out: on Python 3.11 it sometimes stops inside Hypothesis itself
# ("AST constructor recursion depth mismatch"), a fault of the tool, not of the server, which
# would make CI fail at random. Fuzzing and stateful runs still cover every operation.
# Left out: the chat event stream (an SSE response never ends; crates/web/tests/it/staff.rs covers it) and
# signing out (it would end the session the rest of the run uses).
status=0
timeout $((MAX_TIME + 45)) "$VENV/bin/schemathesis" run "$BASE/api/v1/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --header "Cookie: $COOKIE" \
  --header "x-csrf-token: $CSRF" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --exclude-operation-id api_patient_events \
  --exclude-operation-id api_logout \
  --phases examples,fuzzing,stateful \
  --max-examples 60 \
  --max-time "$MAX_TIME" \
  --request-timeout 20 \
  --workers 2 \
  --no-color \
  --report junit --report-dir "$WORK/report" \
  || status=$?

if grep -q "panicked" "$WORK/err"; then
  echo "the server panicked:" >&2
  grep -A5 "panicked" "$WORK/err" >&2
  status=1
fi
exit "$status"
