#!/usr/bin/env bash
# Every test, against real processes. `npm test` runs scripts/setup.sh first (pretest).
# Then the server suite again on PostgreSQL: one throwaway cluster (scripts/pg-throwaway.sh),
# a fresh database per test server. Arguments narrow the first run and skip the second.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tap "dist/test/**/*.test.js" "$@"
[ $# -eq 0 ] || exit 0

pgdir=$(mktemp -d "${TMPDIR:-/tmp}/p11kms-pg-suite-XXXXXX")
trap 'bash scripts/pg-throwaway.sh stop "$pgdir"' EXIT
P11KMS_TEST_PG_URL=$(bash scripts/pg-throwaway.sh start "$pgdir")
export P11KMS_TEST_PG_URL P11KMS_TEST_DB=postgresql
# On PostgreSQL the default master key file is <data dir>/master-key: keep it out of $HOME.
export P11KMS_DATA_DIR="$pgdir/data-dir"
echo "test: the server suite again on PostgreSQL"
npx tap dist/test/server/*.test.js
