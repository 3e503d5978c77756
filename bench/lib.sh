# Shared by the benchmark scripts (bench/http.sh, bench/soak.sh, bench/suite.sh). Source it from
# the repository root after scripts/lib/services.sh. Everything here talks to 127.0.0.1 only.
#
#   bench_init            temp dir $WORK, release build $BIN, cleanup of servers and $WORK on exit
#   start_server DIR [URL] [ARGS...]
#                         a server on a free loopback port; sets BASE and SERVER_PID
#   stop_server PID       stops one server and waits for it
#   run_wrk NAME URL [LUA]
#                         prints "NAME req/s p99 non-2xx socket-errors" ($THREADS, $CONNECTIONS,
#                         $DURATION seconds)
#   seed_patients DIR [URL] [N]
#                         a clinic "bench" and N patients (default 50); tokens in $WORK/tokens
#   staff_login BASE EMAIL PASSWORD
#                         prints "COOKIE CSRF" of a new staff session
#   triage_lua            $WORK/triage.lua: POST /api/v1/triage with vignette V20's case
#   triage_vs_healthz B   medians of alternating /healthz and triage rounds (see below)
#   diary_lua             $WORK/diary.lua: PUT /api/v1/diary/{day} for the patients of $WORK/tokens
#   rss_kib PID           resident memory of a process, KiB
#   machine               one line: cores, memory, CPU model, kernel

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10}
PIDS=()

bench_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${WORK:-}" ] && rm -rf "$WORK"
  return 0
}

bench_init() {
  command -v wrk >/dev/null || apt_install wrk
  cargo build --release --locked -p aftercare >/dev/null
  BIN=${CARGO_TARGET_DIR:-target}/release/aftercare
  WORK=$(mktemp -d)
  trap bench_cleanup EXIT
}

# start_server DATA_DIR [DATABASE_URL] [EXTRA SERVE ARGS...] -> sets BASE and SERVER_PID
start_server() {
  local dir=$1 url=${2:-}
  shift $(($# >= 2 ? 2 : $#))
  if [ -n "$url" ]; then
    DATABASE_URL=$url RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:0 --data-dir "$dir" "$@" \
      >"$dir/out" 2>"$dir/err" &
  else
    env -u DATABASE_URL RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:0 --data-dir "$dir" "$@" \
      >"$dir/out" 2>"$dir/err" &
  fi
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 200); do
    BASE=$(sed -n 's/^aftercare listening on //p' "$dir/out")
    [ -n "$BASE" ] && return 0
    sleep 0.05
  done
  echo "the server did not start:" >&2; cat "$dir/err" >&2; exit 1
}

stop_server() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# run_wrk NAME URL [LUA] -> prints "NAME rps p99 non2xx socket_errors"
run_wrk() {
  local name=$1 url=$2 lua=${3:-}
  local out
  local args=(-t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency --timeout 10s)
  [ -n "$lua" ] && args+=(-s "$lua")
  out=$(wrk "${args[@]}" "$url")
  echo "$out" >"$WORK/wrk-$name.txt"
  local rps p99 errors socket
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  socket=$(awk '/Socket errors:/ {gsub(",", ""); print $4+$6+$8+$10}' <<<"$out")
  echo "$name $rps $p99 ${errors:-0} ${socket:-0}"
}

# triage_vs_healthz BASE -> "h_rps t_rps ratio h_p99 t_p99 t_errors": GET /healthz and
# POST /api/v1/triage on the same server, alternately, ROUNDS times (default 5) for ROUND_SECONDS
# each (default 4). A shared machine's speed drifts by more than the gap being measured, so one
# long run of each can land on a fast and a slow stretch; alternating short rounds and taking
# the median ratio of each pair cancels that drift. Rates and p99s are medians too.
triage_vs_healthz() {
  local base=$1 rounds=${ROUNDS:-5} i
  local DURATION=${ROUND_SECONDS:-4}
  : >"$WORK/pairs"
  for i in $(seq 1 "$rounds"); do
    read -r _ h_rps h_p99 _ _ < <(run_wrk "healthz-$i" "$base/healthz")
    read -r _ t_rps t_p99 t_err _ < <(run_wrk "triage-$i" "$base/api/v1/triage" "$WORK/triage.lua")
    echo "$h_rps $t_rps $h_p99 $t_p99 $t_err" >>"$WORK/pairs"
  done
  python3 - "$WORK/pairs" <<'PY'
import statistics, sys
def ms(t):
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if t.endswith(unit):
            return float(t[: -len(unit)]) * f
    return float(t)
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
h = [float(r[0]) for r in rows]
t = [float(r[1]) for r in rows]
ratio = statistics.median(b / a for a, b in zip(h, t))
errors = sum(int(r[4]) for r in rows)
print(f"{statistics.median(h):.0f} {statistics.median(t):.0f} {ratio:.2f} "
      f"{statistics.median(ms(r[2]) for r in rows):.2f}ms {statistics.median(ms(r[3]) for r in rows):.2f}ms {errors}")
PY
}

# seed_patients DATA_DIR [DATABASE_URL] [N] -> writes tokens, one per line, to $WORK/tokens
seed_patients() {
  local dir=$1 url=${2:-} n=${3:-50}
  local env=(env -u DATABASE_URL)
  [ -n "$url" ] && env=(env DATABASE_URL="$url")
  "${env[@]}" "$BIN" admin create-clinic --data-dir "$dir" --slug bench --name Bench >/dev/null
  : >"$WORK/tokens"
  local i
  for i in $(seq 1 "$n"); do
    "${env[@]}" "$BIN" admin enrol-patient --data-dir "$dir" --clinic bench --name "P$i" \
      --procedure labour_epidural --procedure-date "$(date -u -d '60 days ago' +%F)" \
      --delivery-date "$(date -u -d '60 days ago' +%F)" --language en \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["link_token"])' >>"$WORK/tokens"
  done
}

# staff_login BASE EMAIL PASSWORD -> prints "aftercare_staff=... CSRF" (the server must run with
# --insecure-cookies for the cookie to come back over plain HTTP)
staff_login() {
  python3 - "$@" <<'PY'
import json, sys, urllib.request
base, email, password = sys.argv[1:4]
req = urllib.request.Request(base + "/api/v1/clinic/session", method="POST",
    data=json.dumps({"email": email, "password": password}).encode(),
    headers={"content-type": "application/json"})
with urllib.request.urlopen(req) as res:
    print(res.headers["set-cookie"].split(";")[0], json.load(res)["csrf_token"])
PY
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

machine() {
  local model
  model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  echo "$(nproc) cores (${model:-unknown CPU}), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
}

triage_lua() {
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
}

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
  -- How the pain is going is only asked when there is pain: a day without pain sends no facts.
  local pain = n % 10
  local body = pain > 0
    and string.format('{"pain": %d, "facts": {"pain_course": "improving"}}', pain)
    or '{"pain": 0}'
  return wrk.format("PUT", "/api/v1/diary/" .. day,
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
LUA
}
