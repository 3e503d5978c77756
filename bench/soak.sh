#!/usr/bin/env bash
# A bounded soak of the release binary on 127.0.0.1: mixed traffic from 500 connections for
# SECONDS (default 600), then a verdict. The mix (per 100 requests):
#   25 diary writes (PUT /api/v1/diary/{day}, durable)
#   10 check-in starts (POST /api/v1/checkins), 10 check-in rounds that finish them (PATCH)
#   10 board reads (GET /api/v1/clinic/patients), 5 board pages (GET /clinic), as a clinician
#   10 patient chat posts (POST /api/v1/messages), 5 staff chat posts (JSON, with the CSRF
#      token), 8 chat reads (GET /api/v1/messages)
#    7 recovery summaries (GET /api/v1/recovery), 10 triage decisions (POST /api/v1/triage)
# Passes with zero errors (no non-2xx answer, no socket error or timeout, no 5xx in the
# server's own metrics). Reports throughput, p50/p99 latency, and the server's resident memory
# before the load, every 30 s under it, and at the end, so a leak shows as a rising series.
#
# Usage: bench/soak.sh [SECONDS] [sqlite|postgres]   (needs wrk; raises the open-files limit)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/services.sh
source bench/lib.sh
SECONDS_TOTAL=${1:-600}
BACKEND=${2:-sqlite}
PATIENTS=${SOAK_PATIENTS:-200}
CONNECTIONS=500
THREADS=2
DURATION=$SECONDS_TOTAL

# 500 client sockets in wrk and 500 in the server, plus files.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 2048 ] || { echo "the open-files limit is $(ulimit -n); 2048 needed" >&2; exit 1; }
bench_init

url=
if [ "$BACKEND" = postgres ]; then
  start_postgres
  db="aftercare_soak_$$"
  psql -q "postgres:///postgres?host=/var/run/postgresql" -c "create database $db" >/dev/null
  url="postgres:///$db?host=/var/run/postgresql"
  drop_db() {
    bench_cleanup
    psql -q "postgres:///postgres?host=/var/run/postgresql" -c "drop database if exists $db" >/dev/null || true
  }
  trap drop_db EXIT
fi
env_db=(env -u DATABASE_URL)
[ -n "$url" ] && env_db=(env DATABASE_URL="$url")

mkdir -p "$WORK/data"
PASSWORD="soak $(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
"${env_db[@]}" "$BIN" admin create-clinic --data-dir "$WORK/data" --slug soak --name Soak >/dev/null
AFTERCARE_ADMIN_PASSWORD=$PASSWORD "${env_db[@]}" "$BIN" admin create-user --data-dir "$WORK/data" \
  --clinic soak --email nurse@soak.example --name Nurse --role clinician >/dev/null
# --insecure-cookies: the session cookie comes back over plain HTTP.
start_server "$WORK/data" "$url" --insecure-cookies
read -r COOKIE CSRF < <(staff_login "$BASE" nurse@soak.example "$PASSWORD")

# Patients enrolled through the clinic's API: tokens and ids for the load script.
python3 - "$BASE" "$COOKIE" "$CSRF" "$PATIENTS" "$WORK" <<'PY'
import json, sys, urllib.request, datetime
base, cookie, csrf, n, work = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
day = (datetime.date.today() - datetime.timedelta(days=60)).isoformat()
tokens, ids = [], []
for i in range(n):
    body = {"display_name": f"Soak {i}", "procedure": "labour_epidural",
            "procedure_date": day, "delivery_date": day, "language": "en"}
    req = urllib.request.Request(base + "/api/v1/clinic/patients", method="POST",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "cookie": cookie, "x-csrf-token": csrf})
    with urllib.request.urlopen(req) as res:
        out = json.load(res)
    tokens.append(out["link"].rsplit("/", 1)[1])
    ids.append(out["patient"]["id"])
open(f"{work}/tokens", "w").write("\n".join(tokens) + "\n")
open(f"{work}/ids", "w").write("\n".join(ids) + "\n")
case = json.load(open("tests/vignettes/V20.json"))["case"]
# What the clinic knows (procedure, dates) comes from the enrolment; the rest is a self-care
# case (V20 without its cauda equina signs), so each finished check-in stores a decision.
for k in ["procedure", "hours_since_procedure", "delivered", "days_since_delivery"]:
    case.pop(k, None)
case.update({"saddle_numbness": False, "bladder_change": False})
open(f"{work}/answers.json", "w").write(json.dumps({"answers": case}))
triage = json.load(open("tests/vignettes/V17.json"))["case"]
open(f"{work}/triage.json", "w").write(json.dumps(triage))
PY
printf '%s\n%s\n' "$COOKIE" "$CSRF" >"$WORK/staff"

cat >"$WORK/soak.lua" <<LUA
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local function lines(path)
  local out = {}
  for line in io.lines(path) do out[#out + 1] = line end
  return out
end
local function slurp(path)
  local f = io.open(path); local s = f:read("*a"); f:close(); return s
end

function init(args)
  tokens = lines("$WORK/tokens")
  ids = lines("$WORK/ids")
  local staff = lines("$WORK/staff")
  cookie, csrf = staff[1], staff[2]
  answers = slurp("$WORK/answers.json")
  triage_case = slurp("$WORK/triage.json")
  days = {}
  for d = 0, 40 do days[#days + 1] = os.date("!%Y-%m-%d", os.time() - d * 86400) end
  -- Check-ins of this thread use one patient, so a session started here is finished here.
  checkin_token = tokens[(tid % #tokens) + 1]
  sessions = {}
  n = 0
end

local json = { ["Content-Type"] = "application/json" }
local function patient(token, extra)
  local h = { ["Authorization"] = "Bearer " .. token }
  if extra then h["Content-Type"] = "application/json" end
  return h
end
local function staff(write)
  local h = { ["Cookie"] = cookie }
  if write then h["x-csrf-token"] = csrf; h["Content-Type"] = "application/json" end
  return h
end

function request()
  n = n + 1
  local k = n % 100
  local i = (n * 7919 + tid) % #tokens + 1
  local token = tokens[i]
  if k < 25 then
    local pain = n % 10
    local body = pain > 0
      and string.format('{"pain": %d, "facts": {"pain_course": "improving"}}', pain)
      or '{"pain": 0}'
    local day = days[(math.floor(n / #tokens) % #days) + 1]
    return wrk.format("PUT", "/api/v1/diary/" .. day, patient(token, true), body)
  elseif k < 35 or (k < 45 and #sessions == 0) then
    return wrk.format("POST", "/api/v1/checkins", patient(checkin_token, true), '{"answers": {}}')
  elseif k < 45 then
    local id = table.remove(sessions, 1)
    return wrk.format("PATCH", "/api/v1/checkins/" .. id, patient(checkin_token, true), answers)
  elseif k < 55 then
    return wrk.format("GET", "/api/v1/clinic/patients?limit=50", staff(false))
  elseif k < 60 then
    return wrk.format("GET", "/clinic", staff(false))
  elseif k < 70 then
    return wrk.format("POST", "/api/v1/messages", patient(token, true),
      string.format('{"body": "How long should the ache last? (%d)"}', n))
  elseif k < 75 then
    return wrk.format("POST", "/api/v1/clinic/patients/" .. ids[i] .. "/messages", staff(true),
      string.format('{"body": "It should ease within days; call us if it does not. (%d)"}', n))
  elseif k < 83 then
    return wrk.format("GET", "/api/v1/messages", patient(token))
  elseif k < 90 then
    return wrk.format("GET", "/api/v1/recovery", patient(token))
  else
    return wrk.format("POST", "/api/v1/triage", json, triage_case)
  end
end

function response(status, headers, body)
  if status == 201 and body:find('"status":"incomplete"', 1, true) then
    local id = body:match('"session_id":"([^"]+)"')
    if id then sessions[#sessions + 1] = id end
  end
end
LUA

rss_start=$(rss_kib "$SERVER_PID")
echo "machine: $(machine)"
echo "backend: $BACKEND; $PATIENTS patients; wrk: $THREADS threads, $CONNECTIONS connections, ${SECONDS_TOTAL}s"
echo "server RSS before the load: $((rss_start / 1024)) MiB"

# RSS every 30 s while wrk runs, with its parts (heap and stacks; mapped files, such as
# SQLite's shared WAL index) and the size of the SQLite write-ahead log, so growth can be told
# apart: a leak grows the anonymous part without bound.
rss_parts() {
  awk '/^RssAnon:/ {a = $2} /^RssFile:/ {f = $2} /^RssShmem:/ {s = $2} END {print a, f, s}' \
    "/proc/$1/status" 2>/dev/null || echo "0 0 0"
}
(
  t=0
  while sleep 30; do
    t=$((t + 30))
    wal=$(du -k "$WORK/data/aftercare.db-wal" 2>/dev/null | cut -f1)
    echo "$t $(rss_kib "$SERVER_PID") $(rss_parts "$SERVER_PID") ${wal:-0}"
  done
) >"$WORK/rss" &
PIDS+=($!)
SAMPLER=$!

read -r _ rps p99 non2xx socket < <(run_wrk soak "$BASE" "$WORK/soak.lua")
kill "$SAMPLER" 2>/dev/null || true
rss_end=$(rss_kib "$SERVER_PID")
p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk-soak.txt")
total=$(awk '/requests in/ {print $1}' "$WORK/wrk-soak.txt")
server_5xx=$(curl -s "$BASE/metrics" | awk '/^aftercare_http_requests_total/ && /status="5xx"/ {s += $2} END {print s + 0}')

echo
echo "requests: $total in ${SECONDS_TOTAL}s ($rps/s); latency p50 $p50, p99 $p99"
echo "errors: non-2xx/3xx $non2xx, socket errors and timeouts $socket, 5xx counted by the server $server_5xx"
echo "answers by route (from /metrics):"
curl -s "$BASE/metrics" | awk '/^aftercare_http_requests_total/ {
  match($0, /method="[^"]*"/); m = substr($0, RSTART + 8, RLENGTH - 9)
  match($0, /route="[^"]*"/); r = substr($0, RSTART + 7, RLENGTH - 8)
  match($0, /status="[^"]*"/); s = substr($0, RSTART + 8, RLENGTH - 9)
  printf "  %-7s %-48s %s %s\n", m, r, s, $2 }'
echo "server RSS (MiB): start $((rss_start / 1024)), every 30 s:" \
  "$(awk '{printf "%d ", $2 / 1024}' "$WORK/rss")" "end $((rss_end / 1024))"
echo "  of which heap and stacks (RssAnon):" "$(awk '{printf "%d ", $3 / 1024}' "$WORK/rss")"
echo "  of which mapped files and shared memory (RssFile + RssShmem):" \
  "$(awk '{printf "%d ", ($4 + $5) / 1024}' "$WORK/rss")"
[ "$BACKEND" = sqlite ] && echo "SQLite write-ahead log (MiB):" "$(awk '{printf "%d ", $6 / 1024}' "$WORK/rss")"
# Growth that levels off is a cache filling to its bound (SQLite's page caches: nine
# connections of 2 MiB each); a leak keeps rising. The second half of the run tells them apart.
awk '{ v[NR] = $2 } END { if (NR >= 4) { lo = 1e18; hi = 0
  for (i = int(NR / 2) + 1; i <= NR; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] }
  printf "RSS over the second half of the run: %d to %d MiB (first sample %d, last %d)\n",
    lo / 1024, hi / 1024, v[int(NR / 2) + 1] / 1024, v[NR] / 1024 } }' "$WORK/rss"
first=$(awk 'NR == 1 {print $2}' "$WORK/rss")
if [ -n "$first" ] && [ "$first" -gt 0 ]; then
  python3 -c "print(f'RSS from the first sample under load to the end: {($rss_end - $first) / $first * 100:+.1f}%')"
fi
cat "$WORK/wrk-soak.txt" | sed -n '/Socket errors/p'

if [ "$non2xx" != 0 ] || [ "$socket" != 0 ] || [ "$server_5xx" != 0 ]; then
  echo "FAIL: the soak saw errors" >&2
  tail -20 "$WORK/data/err" >&2
  exit 1
fi
echo "PASS: zero errors"
