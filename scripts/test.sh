#!/usr/bin/env bash
# The README's test command: local services ready, dependencies, build, typecheck, lint, tests.
# Tests create their own databases on the servers named by CRM_DATABASE_URL / MES_DATABASE_URL
# (defaults: this machine's local PostgreSQL and MariaDB; with neither variable nor a local
# cluster, PostgreSQL and MySQL containers started through Docker).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${CRM_DATABASE_URL:-}" && -z "${MES_DATABASE_URL:-}" ]]; then
  if [[ -d /etc/postgresql ]]; then
    bash scripts/services.sh
    export CRM_DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm
    export MES_DATABASE_URL=mysql://root@127.0.0.1:3306/mes
  else
    # No local cluster to prepare (a laptop): the suite starts its own containers via Docker.
    echo "test: no local PostgreSQL and no CRM_DATABASE_URL/MES_DATABASE_URL: using testcontainers" >&2
  fi
fi

# The audit's HTML report is checked in headless Chromium (test/audit): Debian's package.
if [[ ! -x /usr/bin/chromium ]] && command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
  echo "test: installing chromium for the HTML report test" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
fi

# The alert rules are checked with promtool and scraped by a real Prometheus (test/ops): Debian's
# `prometheus` package, without its recommends. Its service is not started: policy-rc.d refuses it.
if ! command -v promtool >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
  echo "test: installing prometheus (promtool) for the alert rule tests" >&2
  created_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  install_prometheus() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null
  }
  status=0
  install_prometheus || { apt-get update -q >/dev/null && install_prometheus; } || status=$?
  if [[ -n $created_policy ]]; then rm -f /usr/sbin/policy-rc.d; fi
  if ((status != 0)); then exit "$status"; fi
fi

if [[ ! -d node_modules ]]; then npm ci --no-audit --no-fund; fi
npm run --silent build
npm run --silent typecheck
npm run --silent lint
npx vitest run "$@"
