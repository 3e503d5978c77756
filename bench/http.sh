#!/usr/bin/env bash
# HTTP benchmark against the release binary on 127.0.0.1 (never another address):
#   1. POST /api/v1/triage throughput and p99 at 64 connections, as a ratio to GET /healthz on the
#      same server in the same run (target: 0.7 or better): ROUNDS alternating rounds of
#      ROUND_SECONDS each, medians reported (see triage_vs_healthz in bench/lib.sh);
#   2. diary writes per second with durability on (synchronous=FULL, group commit), on SQLite
#      and, when PostgreSQL is reachable, on PostgreSQL (target: 5,000/s or better on SQLite).
# Each wrk run is bounded (DURATION seconds) and the servers are stopped on exit.
# Usage: bench/http.sh [DURATION_SECONDS]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/services.sh
source bench/lib.sh
DURATION=${1:-10}
CONNECTIONS=64
THREADS=2
bench_init

triage_lua

echo "machine: $(machine)"
echo "wrk: $THREADS threads, $CONNECTIONS connections; ${ROUNDS:-5} x ${ROUND_SECONDS:-4}s rounds of healthz and triage, ${DURATION}s per diary run"
echo

mkdir -p "$WORK/sqlite"
seed_patients "$WORK/sqlite"
start_server "$WORK/sqlite"
read -r h_rps t_rps ratio h_p99 t_p99 t_err < <(triage_vs_healthz "$BASE")
h_err=0
diary_lua
read -r _ d_rps d_p99 d_err _ < <(run_wrk diary "$BASE" "$WORK/diary.lua")

printf '%-34s %12s %10s %8s\n' "benchmark" "req/s" "p99" "non-2xx"
printf '%-34s %12s %10s %8s\n' "GET /healthz" "$h_rps" "$h_p99" "$h_err"
printf '%-34s %12s %10s %8s\n' "POST /api/v1/triage" "$t_rps" "$t_p99" "$t_err"
printf '%-34s %12s %10s %8s\n' "PUT diary (SQLite, durable)" "$d_rps" "$d_p99" "$d_err"
echo "triage / healthz throughput ratio: $ratio, the median of ${ROUNDS:-5} alternating rounds (target >= 0.70)"
python3 -c "print(f'diary writes per second on SQLite: {float($d_rps):.0f} (target >= 5000)')"

if start_postgres 2>/dev/null; then
  db="aftercare_bench_$$"
  psql -q "postgres:///postgres?host=/var/run/postgresql" -c "create database $db" >/dev/null
  url="postgres:///$db?host=/var/run/postgresql"
  mkdir -p "$WORK/pg"
  seed_patients "$WORK/pg" "$url"
  start_server "$WORK/pg" "$url"
  diary_lua
  read -r _ p_rps p_p99 p_err _ < <(run_wrk diary-pg "$BASE" "$WORK/diary.lua")
  printf '%-34s %12s %10s %8s\n' "PUT diary (PostgreSQL, durable)" "$p_rps" "$p_p99" "$p_err"
  stop_server "$SERVER_PID"
  psql -q "postgres:///postgres?host=/var/run/postgresql" -c "drop database $db" >/dev/null || true
else
  echo "PostgreSQL not available: its diary benchmark was skipped"
fi
