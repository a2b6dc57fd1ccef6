#!/usr/bin/env bash
# Build, then run the test suite on SQLite, and again on PostgreSQL when TEST_DATABASE_URL
# names a database (each test makes a schema of its own there and drops it afterwards).
# The end-to-end tests drive the built command on its embedded database, so they run once.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run build --silent
database_url="${TEST_DATABASE_URL:-}"

echo "# suite on SQLite"
TEST_DATABASE_URL='' node --import tsx --test --test-concurrency=2 test/*.test.ts

if [ -n "$database_url" ]; then
  echo "# suite on PostgreSQL (${database_url%%\?*})"
  files=()
  for file in test/*.test.ts; do
    case "$file" in
      *e2e*) ;;
      *) files+=("$file") ;;
    esac
  done
  TEST_DATABASE_URL="$database_url" node --import tsx --test --test-concurrency=2 "${files[@]}"
fi
