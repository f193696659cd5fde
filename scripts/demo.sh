#!/usr/bin/env bash
# The README's first command: millrace's main job, end to end, on this machine's local PostgreSQL
# and MariaDB, in under three minutes:
#   services -> dependencies -> build -> reset the demo databases -> migrate -> reference CRM with
#   ~100k rows -> mappings check (both directions) -> setup -> backfill -> `run` in the background while a CRM
#   workload writes, with a live line (changes/s, lag, rows per staging table) -> audit as HTML
#   -> clean stop (SIGTERM, exit 0).
#
#   bash scripts/demo.sh [--keep-running] [--seconds N] [--rate N] [--scale N]
#
#   --keep-running   leave the replicator running at the end (its PID, log and metrics URL are
#                    printed; stop it with `kill <PID>`, or by running the demo again)
#   --seconds N      how long the workload writes (default 30)
#   --rate N         CRM transactions per second of the workload (default 150)
#   --scale N        sale orders in the seed; partners, products and lines follow (default 25000,
#                    about 106,000 rows)
#
# Re-runnable: it stops a replicator an earlier demo left running, drops the demo's slot and
# publication and re-creates the demo databases (`crm` on PostgreSQL, `mes` on MariaDB) from
# scratch. It always works on the local services with the default URLs, whatever this shell's
# CRM_DATABASE_URL / MES_DATABASE_URL say, so it never touches a database configured elsewhere.
# Demo state (replicator log, PID, audit report) goes to .millrace/ in the repository.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

keep_running=0
seconds=30
rate=150
scale=25000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --keep-running) keep_running=1 ;;
    --seconds) seconds="${2:?--seconds needs a number}"; shift ;;
    --rate) rate="${2:?--rate needs a number}"; shift ;;
    --scale) scale="${2:?--scale needs a number}"; shift ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown option $1 (see bash scripts/demo.sh --help)" >&2; exit 2 ;;
  esac
  shift
done

# The demo's databases and names: the local services, whatever this shell's millrace variables
# say. DEMO_CRM_DATABASE, DEMO_MES_DATABASE, DEMO_SLOT and DEMO_METRICS_PORT change them (for
# trying the demo beside other work on the same servers).
unset CRM_DATABASE_URL MES_DATABASE_URL MILLRACE_MIGRATIONS MILLRACE_MAPPINGS MILLRACE_SLOT \
  MILLRACE_PUBLICATION MILLRACE_METRICS_PORT MILLRACE_LOG_LEVEL MILLRACE_CONNECT_TIMEOUT
crm_db="${DEMO_CRM_DATABASE:-crm}"
mes_db="${DEMO_MES_DATABASE:-mes}"
slot="${DEMO_SLOT:-millrace}"
metrics_port="${DEMO_METRICS_PORT:-9187}"
export CRM_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$crm_db"
export MES_DATABASE_URL="mysql://root@127.0.0.1:3306/$mes_db"
export MILLRACE_SLOT="$slot" MILLRACE_PUBLICATION="$slot"
state_dir="$root/.millrace"
pid_file="$state_dir/demo-run.pid"
run_log="$state_dir/demo-run.log"
report="$state_dir/demo-audit.html"
mkdir -p "$state_dir"

started=$SECONDS
step() { printf '\n== %s  [%ss]\n' "$*" "$((SECONDS - started))"; }
millrace() {
  printf '$ millrace %s\n' "$*"
  "$root/bin/millrace" "$@"
}
pg() { psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -Atq "$@"; }
my() { mysql -h 127.0.0.1 -uroot "$@"; }

# A replicator this run started is stopped on any failure, unless --keep-running asked otherwise.
run_pid=""
cleanup() {
  local status=$?
  if [[ -n "$run_pid" && $keep_running == 0 ]] && kill -0 "$run_pid" 2>/dev/null; then
    kill -TERM "$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
    rm -f "$pid_file"
  fi
  if [[ $status != 0 ]]; then
    echo "demo: failed (exit $status) after $((SECONDS - started)) s; replicator log: $run_log" >&2
  fi
}
trap cleanup EXIT

step "local services (PostgreSQL with wal_level=logical, MariaDB)"
bash scripts/services.sh

step "dependencies and build"
if [[ ! -d node_modules ]]; then npm ci --no-audit --no-fund; fi
npm run --silent build
echo "built dist/ (millrace $(node -p 'require("./package.json").version'))"

step "reset the demo: replicator stopped, slot and publication dropped, '$crm_db' and '$mes_db' re-created"
if [[ -f "$pid_file" ]]; then
  old_pid=$(cat "$pid_file")
  if kill -0 "$old_pid" 2>/dev/null && grep -q 'main.js' "/proc/$old_pid/cmdline" 2>/dev/null; then
    echo "stopping the replicator an earlier demo left running (PID $old_pid)"
    kill -TERM "$old_pid"
    for _ in $(seq 1 150); do kill -0 "$old_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pid_file"
fi
if [[ -n "$(pg -d postgres -c "select 1 from pg_database where datname = '$crm_db'")" ]]; then
  millrace teardown --yes
fi
pg -d postgres -c "drop database if exists $crm_db with (force)" -c "create database $crm_db"
my -e "drop database if exists \`$mes_db\`"

step "MES: database, control tables, the reference staging tables and work orders (migrations/); CRM: the millrace schema and the work-order table (migrations/crm/)"
millrace migrate --migrations ./migrations

step "CRM: the reference schema (test/fixtures) seeded with scale $scale"
pg -d "$crm_db" -f test/fixtures/crm-schema.sql >/dev/null
pg -d "$crm_db" -v scale="$scale" -f test/fixtures/crm-seed.sql >/dev/null
pg -d "$crm_db" -F ' ' -c "
  select 'partners', count(*) from res_partner union all
  select 'products', count(*) from product_product union all
  select 'sale orders', count(*) from sale_order union all
  select 'order lines', count(*) from sale_order_line" |
  awk '{ n = $NF; $NF = ""; printf "  %-14s %8d\n", $0, n; total += n } END { printf "  %-14s %8d rows\n", "in all", total }'

step "mappings (mappings/) proved against both live schemas"
millrace mappings check

step "CRM: publication and replication slot"
millrace setup

step "backfill: the existing rows, through the mappings, into the MES"
millrace backfill

step "replicator in the background (log: $run_log, metrics: http://127.0.0.1:$metrics_port/metrics)"
"$root/dist/src/cli/main.js" run --metrics-port "$metrics_port" >"$run_log" 2>&1 &
run_pid=$!
echo "$run_pid" >"$pid_file"
echo "$ millrace run --metrics-port $metrics_port &   # PID $run_pid"
for _ in $(seq 1 300); do
  if grep -q '"msg":"replicator replicating"' "$run_log"; then break; fi
  if ! kill -0 "$run_pid" 2>/dev/null; then
    echo "demo: millrace run exited early:" >&2
    tail -n 20 "$run_log" >&2
    exit 3
  fi
  sleep 0.1
done
grep -q '"msg":"replicator replicating"' "$run_log" || { echo "demo: run did not start within 30 s" >&2; tail -n 20 "$run_log" >&2; exit 3; }
echo "replicating"

step "CRM workload for ${seconds} s at ${rate} transactions/s (orders, lines, customers, products), and the MES planning work orders that flow back to the CRM, live"
node dist/bench/demo-workload.js --seconds "$seconds" --rate "$rate" --metrics-port "$metrics_port"

step "audit: CRM and MES compared through the mappings"
audit_status=0
millrace audit --format html --out "$report" || audit_status=$?
echo "audit report: $report"

if [[ $keep_running == 1 ]]; then
  step "done in $((SECONDS - started)) s; the replicator keeps running"
  echo "  PID $run_pid (in $pid_file), log $run_log"
  echo "  metrics http://127.0.0.1:$metrics_port/metrics, health http://127.0.0.1:$metrics_port/healthz"
  echo "  stop it with: kill $run_pid    (SIGTERM: it finishes its batch, checkpoints and exits 0)"
  disown "$run_pid" 2>/dev/null || true
else
  step "clean stop: SIGTERM, the replicator finishes its batch, checkpoints, exits"
  kill -TERM "$run_pid"
  run_status=0
  wait "$run_pid" || run_status=$?
  run_pid=""
  rm -f "$pid_file"
  echo "millrace run exited $run_status"
  [[ $run_status == 0 ]] || { tail -n 20 "$run_log" >&2; exit 3; }
  millrace status
  # An idle slot keeps every byte of WAL from here on: the demo does not leave one behind.
  # (The staging tables and the report stay; `bash scripts/demo.sh` sets everything up again.)
  millrace teardown --yes
  step "done in $((SECONDS - started)) s"
fi
if [[ $audit_status != 0 ]]; then
  echo "demo: the audit found differences (exit $audit_status): see $report" >&2
  exit "$audit_status"
fi
