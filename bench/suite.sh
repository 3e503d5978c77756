#!/usr/bin/env bash
# The benchmark suite: one command, one table (Markdown, for README.md). Everything runs on this
# machine against 127.0.0.1, is bounded in time, and removes what it made (servers, temp dirs,
# the PostgreSQL database) on exit.
#
#   triage in-process       decisions/s, from the criterion bench (crates/core/benches/triage.rs)
#   HTTP triage             POST /api/v1/triage req/s as a ratio to GET /healthz (same server)
#   diary writes            durable PUT /api/v1/diary/{day} per second, as a ratio to a bare
#                           SQLite loop with the same durability (WAL, synchronous=FULL, one
#                           insert and commit per row, Python's sqlite3)
#   board at scale          GET /api/v1/clinic/patients and GET /clinic as a signed-in clinician
#                           (the board is a clinician's page), median and p95 of 20 requests,
#                           over BOARD_PATIENTS patients with BOARD_DAYS diary entries each
#                           (default 100,000 x 100 = 10,000,000), seeded with SQL
#                           (bench/sql/board-*.sql), on SQLite and PostgreSQL
#   cold start              exec to the first 200 from /readyz (fresh data dir, and the large one)
#   memory                  server RSS idle, and the peak under the HTTP loads
#
# Usage: bench/suite.sh   (env: DURATION=10 seconds per wrk run, BOARD_PATIENTS, BOARD_DAYS,
#                          SKIP_POSTGRES=1)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/services.sh
source bench/lib.sh
DURATION=${DURATION:-10}
CONNECTIONS=64
THREADS=2
BOARD_PATIENTS=${BOARD_PATIENTS:-100000}
BOARD_DAYS=${BOARD_DAYS:-100}
PG_ADMIN="postgres:///postgres?host=/var/run/postgresql"
PG_DB=
ulimit -n 65536 2>/dev/null || true

suite_cleanup() {
  bench_cleanup
  if [ -n "$PG_DB" ]; then
    psql -q "$PG_ADMIN" -c "drop database if exists $PG_DB" >/dev/null 2>&1 || true
  fi
}
bench_init
trap suite_cleanup EXIT

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 |"); printf '  %s: %s\n' "$1" "$2" >&2; }
log() { printf '\n== %s\n' "$*" >&2; }
ratio() { python3 -c "print(f'{float($1) / float($2):.2f}')"; }
fmt_int() { python3 -c "print(f'{float($1):,.0f}')"; }

# rss_peak_during PID COMMAND... : runs COMMAND while sampling the RSS of PID every 0.5 s;
# the peak (KiB) is in $WORK/peak afterwards.
rss_peak_during() {
  local pid=$1; shift
  ( peak=0; while sleep 0.5; do r=$(rss_kib "$pid"); [ "$r" -gt "$peak" ] && peak=$r; echo "$peak" >"$WORK/peak"; done ) &
  local sampler=$!
  "$@"
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
}

# time_gets BASE PATH COOKIE N -> "median_ms p95_ms" of N sequential GETs (each must be 200)
time_gets() {
  python3 - "$@" <<'PY'
import sys, time, urllib.request, statistics
base, path, cookie, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
times = []
for i in range(n + 2):
    req = urllib.request.Request(base + path, headers={"cookie": cookie})
    t = time.perf_counter()
    with urllib.request.urlopen(req) as res:
        res.read()
        assert res.status == 200, res.status
    if i >= 2:  # two warm-up requests
        times.append((time.perf_counter() - t) * 1000)
times.sort()
p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
print(f"{statistics.median(times):.1f} {p95:.1f}")
PY
}

# cold_start DATA_DIR [DATABASE_URL] -> median ms from exec to the first 200 of /readyz (5 runs)
cold_start() {
  python3 - "$BIN" "$@" <<'PY'
import os, subprocess, sys, time, urllib.request, statistics
binary, data = sys.argv[1], sys.argv[2]
url = sys.argv[3] if len(sys.argv) > 3 else ""
env = dict(os.environ, RUST_LOG="warn")
env.pop("DATABASE_URL", None)
if url:
    env["DATABASE_URL"] = url
runs = []
for _ in range(5):
    t = time.perf_counter()
    p = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    try:
        base = p.stdout.readline().strip().removeprefix("aftercare listening on ")
        while True:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=5) as res:
                    if res.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - t > 60:
                raise SystemExit("no 200 from /readyz within 60 s")
            time.sleep(0.002)
        runs.append((time.perf_counter() - t) * 1000)
    finally:
        p.terminate()
        p.wait()
print(f"{statistics.median(runs):.0f}")
PY
}

echo "machine: $(machine)" >&2

# --- 1. triage in-process ----------------------------------------------------------------------
log "triage in-process (criterion)"
cargo bench --locked -p aftercare-core --bench triage -- --warm-up-time 1 --measurement-time 5 \
  triage/all_vignettes >"$WORK/criterion.txt" 2>&1
read -r per_s per_us < <(python3 - "$WORK/criterion.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
# "triage/all_vignettes  time: [...]  thrpt: [low mid high Kelem/s]" (the plain one, not _rendered)
block = re.search(r"triage/all_vignettes\s+time:.*?thrpt:\s*\[([^\]]*)\]", text, re.S)
parts = block.group(1).split()
value, unit = float(parts[2]), parts[3]
scale = {"elem/s": 1, "Kelem/s": 1e3, "Melem/s": 1e6, "Gelem/s": 1e9}[unit]
per_s = value * scale
print(f"{per_s:.0f} {1e6 / per_s:.2f}")
PY
)
row "triage with care plan, in-process, one core" "$(fmt_int "$per_s") decisions/s (${per_us} µs each)" \
  '`cargo bench -p aftercare-core --bench triage`'

# --- 2. HTTP triage vs /healthz, diary writes, memory --------------------------------------------
log "HTTP: /healthz, triage, diary writes (SQLite)"
mkdir -p "$WORK/http"
seed_patients "$WORK/http"
start_server "$WORK/http"
HTTP_PID=$SERVER_PID
sleep 1
rss_idle=$(rss_kib "$HTTP_PID")
triage_lua
diary_lua
rss_peak_during "$HTTP_PID" triage_vs_healthz "$BASE" >"$WORK/triage.out"
read -r h_rps t_rps t_ratio h_p99 t_p99 t_err <"$WORK/triage.out"
peak_triage=$(cat "$WORK/peak" 2>/dev/null || echo 0)
rss_peak_during "$HTTP_PID" run_wrk diary "$BASE" "$WORK/diary.lua" >"$WORK/diary.out"
read -r _ d_rps d_p99 d_err _ <"$WORK/diary.out"
peak_diary=$(cat "$WORK/peak" 2>/dev/null || echo 0)
stop_server "$HTTP_PID"
row "\`POST /api/v1/triage\` / \`GET /healthz\` throughput" \
  "$t_ratio ($(fmt_int "$t_rps") vs $(fmt_int "$h_rps") req/s; p99 $t_p99 vs $h_p99; non-2xx $t_err)" \
  "\`bench/http.sh\` (wrk, $CONNECTIONS connections; median of ${ROUNDS:-5} alternating ${ROUND_SECONDS:-4}s rounds)"

log "bare SQLite insert loop (WAL, synchronous=FULL, commit per row)"
bare=$(python3 - "$WORK/bare.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE diary (patient_id TEXT, day TEXT, version INTEGER, pain INTEGER, facts TEXT, recorded_at TEXT, PRIMARY KEY (patient_id, day, version)) WITHOUT ROWID")
n, start = 0, time.perf_counter()
while time.perf_counter() - start < 5:
    db.execute("BEGIN")
    db.execute("INSERT INTO diary VALUES (?, ?, 1, ?, ?, ?)",
               (f"patient-{n % 50}", f"day-{n}", n % 11, '{"pain_course":"improving"}', "2026-01-01T00:00:00+00:00"))
    db.execute("COMMIT")
    n += 1
print(f"{n / (time.perf_counter() - start):.0f}")
PY
)
row "diary writes per second, SQLite, durable / a bare SQLite loop" \
  "$(ratio "$d_rps" "$bare") ($(fmt_int "$d_rps") vs $(fmt_int "$bare") writes/s; p99 $d_p99; non-2xx $d_err)" \
  '`bench/http.sh`; the loop is in `bench/suite.sh`'
row "server memory (RSS)" \
  "$((rss_idle / 1024)) MiB idle; peak $((peak_triage / 1024)) MiB under triage, $((peak_diary / 1024)) MiB under diary writes" \
  "\`/proc/PID/status\` sampled every 0.5 s"

log "cold start, fresh data dir"
mkdir -p "$WORK/cold"
cold_fresh=$(cold_start "$WORK/cold")

# --- 3. the board at scale --------------------------------------------------------------------
rows_label="$(fmt_int "$BOARD_PATIENTS") patients, $(fmt_int $((BOARD_PATIENTS * BOARD_DAYS))) diary entries"
PASSWORD="suite $(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

# board_times LABEL DATA_DIR [URL]: the server on the seeded data, a clinician session, timings.
board_times() {
  local label=$1 dir=$2 url=${3:-}
  start_server "$dir" "$url" --insecure-cookies
  local pid=$SERVER_PID cookie csrf api page filtered
  read -r cookie csrf < <(staff_login "$BASE" nurse@big.example "$PASSWORD")
  read -r api_med api_p95 < <(time_gets "$BASE" "/api/v1/clinic/patients?limit=50" "$cookie" 20)
  read -r deep_med deep_p95 < <(time_gets "$BASE" "/api/v1/clinic/patients?limit=50&offset=$((BOARD_PATIENTS / 2))" "$cookie" 20)
  # The same depth by cursor: the next-page link of the page just before it.
  local cursor_path
  cursor_path=$(curl -s -D - -o /dev/null -H "cookie: $cookie" \
    "$BASE/api/v1/clinic/patients?limit=50&offset=$((BOARD_PATIENTS / 2 - 50))" \
    | tr -d '\r' | sed -n 's/^[Ll]ink: <\([^>]*\)>; rel="next"$/\1/p')
  [ -n "$cursor_path" ] || { echo "no next-page link on the board" >&2; exit 1; }
  read -r cur_med cur_p95 < <(time_gets "$BASE" "$cursor_path" "$cookie" 20)
  read -r page_med page_p95 < <(time_gets "$BASE" "/clinic" "$cookie" 20)
  stop_server "$pid"
  row "board, $label, $rows_label: \`GET /api/v1/clinic/patients\` (first page of 50)" \
    "median $api_med ms, p95 $api_p95 ms" "\`bench/suite.sh\` (20 sequential requests)"
  row "board, $label: the same, halfway down (offset $(fmt_int $((BOARD_PATIENTS / 2))))" "median $deep_med ms, p95 $deep_p95 ms" "ditto"
  row "board, $label: the same depth by cursor (\`after=\`, the next-page link)" "median $cur_med ms, p95 $cur_p95 ms" "ditto"
  row "board, $label: \`GET /clinic\` (the page)" "median $page_med ms, p95 $page_p95 ms" "ditto"
}

log "board on SQLite: seeding $rows_label"
mkdir -p "$WORK/big"
env -u DATABASE_URL "$BIN" admin create-clinic --data-dir "$WORK/big" --slug big --name Big >"$WORK/big/clinic.json"
AFTERCARE_ADMIN_PASSWORD=$PASSWORD env -u DATABASE_URL "$BIN" admin create-user --data-dir "$WORK/big" \
  --clinic big --email nurse@big.example --name Nurse --role clinician >/dev/null
seed_started=$(date +%s)
python3 - "$WORK/big/aftercare.db" "$WORK/big/clinic.json" "$BOARD_PATIENTS" "$BOARD_DAYS" <<'PY'
import json, sqlite3, sys
db, clinic, patients, days = sys.argv[1], json.load(open(sys.argv[2]))["id"], int(sys.argv[3]), int(sys.argv[4])
sql = open("bench/sql/board-sqlite.sql").read()
sql = sql.replace(":clinic", f"'{clinic}'").replace(":patients", str(patients)).replace(":days", str(days))
sqlite3.connect(db, isolation_level=None).executescript(sql)
PY
seed_sqlite=$(($(date +%s) - seed_started))
board_times "SQLite" "$WORK/big"
cold_big=$(cold_start "$WORK/big")
row "cold start (exec to \`/readyz\` 200)" \
  "$cold_fresh ms on a fresh data dir (migrations included); $cold_big ms on the SQLite data dir of $rows_label" \
  "\`bench/suite.sh\`, median of 5"
rm -rf "$WORK/big"

if [ -z "${SKIP_POSTGRES:-}" ] && start_postgres >/dev/null 2>&1; then
  log "board on PostgreSQL: seeding $rows_label"
  PG_DB="aftercare_suite_$$"
  psql -q "$PG_ADMIN" -c "create database $PG_DB" >/dev/null
  url="postgres:///$PG_DB?host=/var/run/postgresql"
  mkdir -p "$WORK/pg"
  DATABASE_URL=$url "$BIN" admin create-clinic --data-dir "$WORK/pg" --slug big --name Big >"$WORK/pg/clinic.json"
  AFTERCARE_ADMIN_PASSWORD=$PASSWORD DATABASE_URL=$url "$BIN" admin create-user --data-dir "$WORK/pg" \
    --clinic big --email nurse@big.example --name Nurse --role clinician >/dev/null
  clinic=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/pg/clinic.json")
  seed_started=$(date +%s)
  psql -q -v ON_ERROR_STOP=1 "$url" -v clinic="$clinic" -v patients="$BOARD_PATIENTS" \
    -v days="$BOARD_DAYS" -f bench/sql/board-postgres.sql >/dev/null
  seed_pg=$(($(date +%s) - seed_started))
  board_times "PostgreSQL" "$WORK/pg" "$url"
  psql -q "$PG_ADMIN" -c "drop database $PG_DB" >/dev/null && PG_DB=
  seeding="seeding took ${seed_sqlite}s on SQLite, ${seed_pg}s on PostgreSQL"
else
  echo "PostgreSQL is not available: its board figures are left out" >&2
  seeding="seeding took ${seed_sqlite}s on SQLite"
fi

echo
echo "Measured $(date -u +%F) on $(machine); $seeding."
echo
echo "| what | figure | how |"
echo "|---|---|---|"
printf '%s\n' "${ROWS[@]}"
