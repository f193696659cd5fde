#!/usr/bin/env bash
# Makes the local PostgreSQL and MariaDB ready for millrace, idempotently:
#   - PostgreSQL with wal_level=logical (restarted only when the setting changes),
#   - a pg_hba line allowing replication connections from 127.0.0.1,
#   - MariaDB running with a row-based binary log (ROW format, FULL row image), which the return
#     path reads as a replica (restarted only when a setting changes),
#   - the crm and mes databases.
# Where everything is already right it changes nothing. Database URLs from the environment
# (CRM_DATABASE_URL / MES_DATABASE_URL) pointing elsewhere are left alone.
set -euo pipefail

log() { printf 'services: %s\n' "$*" >&2; }

pg_local() { psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -Atqc "$1"; }

wait_for() { # what, tries, command...
  local what=$1 tries=$2; shift 2
  for ((i = 0; i < tries; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  log "$what did not become ready"; return 1
}

ensure_postgres() {
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [[ -z "$version" ]]; then log "no local PostgreSQL cluster under /etc/postgresql"; return 1; fi
  if ! pg_isready -h 127.0.0.1 -q; then
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for PostgreSQL 60 pg_isready -h 127.0.0.1 -q
  fi
  local restart=0
  if [[ "$(pg_local 'show wal_level')" != logical ]]; then
    log "switching PostgreSQL to wal_level=logical"
    pg_local "alter system set wal_level = logical"
    restart=1
  fi
  # Each replicator (and each test running one) holds a slot and a walsender; the default of 10
  # runs out when test files run side by side.
  for setting in max_replication_slots max_wal_senders; do
    if (( $(pg_local "show $setting") < 40 )); then
      log "raising $setting to 40"
      pg_local "alter system set $setting = 40"
      restart=1
    fi
  done
  local hba
  hba=$(pg_local 'show hba_file')
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$hba"; then
    log "allowing replication connections from 127.0.0.1 in $hba"
    # Prepended so it wins over any earlier, stricter replication line.
    sed -i '1i host    replication     all             127.0.0.1/32            trust' "$hba"
    [[ $restart == 1 ]] || pg_local 'select pg_reload_conf()' >/dev/null
  fi
  if [[ $restart == 1 ]]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main restart
    wait_for PostgreSQL 60 pg_isready -h 127.0.0.1 -q
  fi
  for db in crm; do
    if [[ -z "$(pg_local "select 1 from pg_database where datname = '$db'")" ]]; then
      log "creating PostgreSQL database $db"
      pg_local "create database $db"
    fi
  done
}

ensure_mariadb() {
  if ! mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; then
    log "starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for MariaDB 120 mysqladmin -h 127.0.0.1 -uroot ping
  fi
  ensure_binlog
  mysql -h 127.0.0.1 -uroot -e \
    'CREATE DATABASE IF NOT EXISTS mes CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci'
}

my_local() { mysql -h 127.0.0.1 -uroot -N -B -e "$1"; }

binlog_settings='[mysqld]
log_bin = mariadb-bin
binlog_format = ROW
binlog_row_image = FULL
server_id = 1
binlog_expire_logs_seconds = 172800
'

# The binary log can only be switched on at start-up, so the settings go into a configuration file
# the server reads; MariaDB is restarted only when the running server does not have them yet.
ensure_binlog() {
  local live
  live=$(my_local 'select concat_ws(",", @@log_bin + 0, @@binlog_format, @@binlog_row_image)')
  if [[ "$live" == "1,ROW,FULL" ]]; then return 0; fi
  local conf
  if [[ -d /etc/mysql/mariadb.conf.d ]]; then
    conf=/etc/mysql/mariadb.conf.d/90-millrace-binlog.cnf
  else
    conf=/etc/mysql/millrace-binlog.cnf
    grep -qxF "!include $conf" /etc/mysql/my.cnf || printf '\n!include %s\n' "$conf" >>/etc/mysql/my.cnf
  fi
  printf '%s' "$binlog_settings" >"$conf"
  log "enabling MariaDB's binary log (ROW format, FULL row image) in $conf; restarting MariaDB"
  mysqladmin -h 127.0.0.1 -uroot shutdown
  wait_for 'MariaDB shutdown' 120 bash -c '! pgrep -x mariadbd'
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for MariaDB 120 mysqladmin -h 127.0.0.1 -uroot ping
  live=$(my_local 'select concat_ws(",", @@log_bin + 0, @@binlog_format, @@binlog_row_image)')
  if [[ "$live" != "1,ROW,FULL" ]]; then
    log "MariaDB restarted without the binary log settings (log_bin,format,image = $live)"
    return 1
  fi
}

ensure_postgres
ensure_mariadb
log "PostgreSQL (wal_level=$(pg_local 'show wal_level')) and MariaDB (binlog_format=$(my_local 'select @@binlog_format')) ready"
