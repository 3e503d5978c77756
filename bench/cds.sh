#!/usr/bin/env bash
# CDS Hooks speed check: a `patient-view` call with prefetch must answer in under 50 ms at p99 on
# loopback. Starts a release server on a free port with a fresh SQLite database, posts an
# emergency vignette's QuestionnaireResponse as prefetch with wrk, prints wrk's latency table and
# fails when p99 is over the budget. A script to run by hand or in a perf job, not a timed test.
#
#   bench/cds.sh                 # 15 s, 1 wrk thread, 4 connections (wrk shares the 2 cores)
#   DURATION=30s CONNECTIONS=32 bench/cds.sh
#   AFTERCARE_BIN=path/to/aftercare bench/cds.sh   # skip the release build
#
# Needs wrk (apt-get install wrk), curl and python3. Only loopback is used.
set -euo pipefail
cd "$(dirname "$0")/.."

BUDGET_MS=${BUDGET_MS:-50}
DURATION=${DURATION:-15s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-4}
VIGNETTE=${VIGNETTE:-}

command -v wrk >/dev/null || { echo "bench/cds.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }

if [[ -z "${AFTERCARE_BIN:-}" ]]; then
  cargo build --release -p aftercare >&2
  AFTERCARE_BIN="${CARGO_TARGET_DIR:-target}/release/aftercare"
fi

work=$(mktemp -d)
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

# The request: the spec's patient-view shape, prefetch with a QuestionnaireResponse made from the
# first emergency vignette (or $VIGNETTE).
python3 - "$base" "$VIGNETTE" > "$work/body.json" <<'PY'
import json, pathlib, sys
base, chosen = sys.argv[1], sys.argv[2]
files = sorted(pathlib.Path("tests/vignettes").glob("*.json"))
vignettes = [json.loads(f.read_text()) for f in files]
v = next(x for x in vignettes if (x["id"] == chosen if chosen else x["expect"]["level"] == "emergency"))
def answer(value):
    if isinstance(value, bool): return {"valueBoolean": value}
    if isinstance(value, str): return {"valueCoding": {"code": value}}
    if isinstance(value, int): return {"valueInteger": value}
    return {"valueDecimal": value}
qr = {"resourceType": "QuestionnaireResponse", "status": "completed",
      "questionnaire": base + "/fhir/Questionnaire/aftercare",
      "subject": {"reference": "Patient/bench-1"}, "authored": "2025-03-04T08:00:00Z",
      "item": [{"linkId": k, "answer": [answer(x)]} for k, x in v["case"].items()]}
print(json.dumps({
    "hookInstance": "8f1a2b3c-0000-4000-8000-000000000001", "hook": "patient-view",
    "fhirServer": "https://ehr.example.org/fhir",
    "context": {"userId": "Practitioner/bench", "patientId": "bench-1"},
    "prefetch": {"patient": {"resourceType": "Patient", "id": "bench-1"},
                 "questionnaireResponses": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": qr}]},
                 "procedures": None, "painObservations": None}}))
print(f"vignette {v['id']} ({v['expect']['level']})", file=sys.stderr)
PY

AFTERCARE_DATA_DIR="$work/data" AFTERCARE_LISTEN="127.0.0.1:$port" AFTERCARE_PUBLIC_URL="$base" \
  RUST_LOG=warn "$AFTERCARE_BIN" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done

first=$(curl -fsS -X POST -H 'Content-Type: application/json' --data @"$work/body.json" "$base/cds-services/aftercare-patient-view")
echo "first answer: $(echo "$first" | python3 -c 'import json,sys; c=json.load(sys.stdin)["cards"][0]; print(c["indicator"], "-", c["summary"])')"

CDS_BODY="$work/body.json" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
  -s bench/cds.lua "$base/cds-services/aftercare-patient-view" | tee "$work/wrk.txt"

p99=$(awk '/^p99_ms/ {print $2}' "$work/wrk.txt")
bad=$(awk '/^non-200 answers:/ {print $3}' "$work/wrk.txt")
if [[ "$bad" != "0" ]]; then echo "FAIL: $bad answers were not 200" >&2; exit 1; fi
if awk -v p="$p99" -v b="$BUDGET_MS" 'BEGIN { exit !(p > b) }'; then
  echo "FAIL: p99 ${p99} ms is over the ${BUDGET_MS} ms budget" >&2; exit 1
fi
echo "ok: p99 ${p99} ms (budget ${BUDGET_MS} ms)"
