#!/usr/bin/env bash
# The README's main-job command, on this machine's local PostgreSQL and MariaDB:
#   services ready -> dependencies -> build -> `millrace migrate` on the local `mes` database
#   -> a short account of what exists.
# Safe to run again: every step is idempotent. Later work grows it into the full replication
# demo (setup, run, backfill, audit) as those commands land.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# The demo works on the local services with the default URLs, whatever this shell points at:
# it must never migrate a database someone else configured.
unset CRM_DATABASE_URL MES_DATABASE_URL MILLRACE_MIGRATIONS
mes_database=mes

step() { printf '\n== %s\n' "$*"; }
millrace() {
  printf '$ millrace %s\n' "$*"
  node "$root/dist/src/cli/main.js" "$@"
}

step "local services (PostgreSQL with wal_level=logical, MariaDB, databases crm and mes)"
bash scripts/services.sh

step "dependencies and build"
if [[ ! -d node_modules ]]; then npm ci --no-audit --no-fund; fi
npm run --silent build
echo "built dist/ (millrace $(node -p 'require("./package.json").version'))"

step "control and staging tables on the MES"
millrace migrate --migrations ./migrations

step "what exists now"
echo "millrace's control tables in the '$mes_database' database:"
mysql -h 127.0.0.1 -uroot --table "$mes_database" -e "
  SELECT t.table_name AS control_table,
         GROUP_CONCAT(c.column_name ORDER BY c.ordinal_position SEPARATOR ', ') AS columns
    FROM information_schema.tables t
    JOIN information_schema.columns c
      ON c.table_schema = t.table_schema AND c.table_name = t.table_name
   WHERE t.table_schema = DATABASE()
     AND t.table_name IN ('millrace_checkpoints', 'millrace_backfills',
                          'millrace_dead_letters', 'millrace_audit_runs')
   GROUP BY t.table_name
   ORDER BY t.table_name"
echo
millrace --help
