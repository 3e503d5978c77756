#!/usr/bin/env bash
# HTTP benchmark against the release binary on 127.0.0.1 (never another address):
#   1. POST /api/v1/triage throughput and p99 at 64 connections, as a ratio to GET /healthz on the
#      same server in the same run (target: 0.7 or better);
#   2. diary writes per second with durability on (synchronous=FULL, group commit), on SQLite
#      and, when PostgreSQL is reachable, on PostgreSQL (target: 5,000/s or better on SQLite).
# Each wrk run is bounded (DURATION seconds) and the servers are stopped on exit.
# Usage: bench/http.sh [DURATION_SECONDS]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/services.sh
DURATION=${1:-10}
CONNECTIONS=64
THREADS=2
command -v wrk >/dev/null || apt_install wrk
cargo build --release --locked -p aftercare >/dev/null
BIN=target/release/aftercare
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# start_server DATA_DIR [DATABASE_URL] -> sets BASE
start_server() {
  local dir=$1 url=${2:-}
  if [ -n "$url" ]; then
    DATABASE_URL=$url RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:0 --data-dir "$dir" >"$dir/out" 2>"$dir/err" &
  else
    env -u DATABASE_URL RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:0 --data-dir "$dir" >"$dir/out" 2>"$dir/err" &
  fi
  PIDS+=($!)
  for _ in $(seq 1 100); do
    BASE=$(sed -n 's/^aftercare listening on //p' "$dir/out")
    [ -n "$BASE" ] && return 0
    sleep 0.1
  done
  echo "the server did not start:" >&2; cat "$dir/err" >&2; exit 1
}

# run_wrk NAME URL [LUA] -> prints "NAME rps p99"
run_wrk() {
  local name=$1 url=$2 lua=${3:-}
  local out
  if [ -n "$lua" ]; then
    out=$(wrk -t$THREADS -c$CONNECTIONS -d"${DURATION}s" --latency -s "$lua" "$url")
  else
    out=$(wrk -t$THREADS -c$CONNECTIONS -d"${DURATION}s" --latency "$url")
  fi
  local rps p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  echo "$name $rps $p99 ${errors:-0}"
}

# seed_patients DATA_DIR [DATABASE_URL] -> writes tokens, one per line, to $WORK/tokens
seed_patients() {
  local dir=$1 url=${2:-}
  local env=(env -u DATABASE_URL)
  [ -n "$url" ] && env=(env DATABASE_URL="$url")
  "${env[@]}" "$BIN" admin create-clinic --data-dir "$dir" --slug bench --name Bench >/dev/null
  : >"$WORK/tokens"
  for i in $(seq 1 50); do
    "${env[@]}" "$BIN" admin enrol-patient --data-dir "$dir" --clinic bench --name "P$i" \
      --procedure labour_epidural --procedure-date "$(date -u -d '60 days ago' +%F)" \
      --delivery-date "$(date -u -d '60 days ago' +%F)" --language en \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["link_token"])' >>"$WORK/tokens"
  done
}

python3 - "$WORK/triage.json" <<'PY'
import json, sys
case = json.load(open("tests/vignettes/V20.json"))["case"]
open(sys.argv[1], "w").write(json.dumps(case))
PY
cat >"$WORK/triage.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$WORK/triage.json"); wrk.body = f:read("*a"); f:close()
LUA

diary_lua() {
  cat >"$WORK/diary.lua" <<LUA
local tokens = {}
for line in io.lines("$WORK/tokens") do tokens[#tokens + 1] = line end
local days = {}
for d = 0, 40 do days[#days + 1] = os.date("!%Y-%m-%d", os.time() - d * 86400) end
local n = 0
request = function()
  n = n + 1
  local token = tokens[(n % #tokens) + 1]
  local day = days[(math.floor(n / #tokens) % #days) + 1]
  local body = string.format('{"pain": %d, "facts": {"pain_course": "improving"}}', n % 10)
  return wrk.format("PUT", "/api/v1/diary/" .. day,
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
LUA
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "wrk: $THREADS threads, $CONNECTIONS connections, ${DURATION}s per run"
echo

mkdir -p "$WORK/sqlite"
seed_patients "$WORK/sqlite"
start_server "$WORK/sqlite"
read -r _ h_rps h_p99 h_err < <(run_wrk healthz "$BASE/healthz")
read -r _ t_rps t_p99 t_err < <(run_wrk triage "$BASE/api/v1/triage" "$WORK/triage.lua")
diary_lua
read -r _ d_rps d_p99 d_err < <(run_wrk diary "$BASE" "$WORK/diary.lua")

printf '%-34s %12s %10s %8s\n' "benchmark" "req/s" "p99" "non-2xx"
printf '%-34s %12s %10s %8s\n' "GET /healthz" "$h_rps" "$h_p99" "$h_err"
printf '%-34s %12s %10s %8s\n' "POST /api/v1/triage" "$t_rps" "$t_p99" "$t_err"
printf '%-34s %12s %10s %8s\n' "PUT diary (SQLite, durable)" "$d_rps" "$d_p99" "$d_err"
python3 -c "print(f'triage / healthz throughput ratio: {float($t_rps)/float($h_rps):.2f} (target >= 0.70)')"
python3 -c "print(f'diary writes per second on SQLite: {float($d_rps):.0f} (target >= 5000)')"

if start_postgres 2>/dev/null; then
  db="aftercare_bench_$$"
  psql -q "postgres:///postgres?host=/var/run/postgresql" -c "create database $db" >/dev/null
  url="postgres:///$db?host=/var/run/postgresql"
  mkdir -p "$WORK/pg"
  seed_patients "$WORK/pg" "$url"
  start_server "$WORK/pg" "$url"
  diary_lua
  read -r _ p_rps p_p99 p_err < <(run_wrk diary-pg "$BASE" "$WORK/diary.lua")
  printf '%-34s %12s %10s %8s\n' "PUT diary (PostgreSQL, durable)" "$p_rps" "$p_p99" "$p_err"
  kill "${PIDS[-1]}" 2>/dev/null || true; sleep 0.5
  psql -q "postgres:///postgres?host=/var/run/postgresql" -c "drop database $db" >/dev/null || true
else
  echo "PostgreSQL not available: its diary benchmark was skipped"
fi
