#!/usr/bin/env bash
# The whole test suite, runnable on a fresh machine: installs what the tests need (a
# Python virtualenv with the pinned tools of requirements-test.txt), then runs every
# Rust test (unit, integration, CLI, corpus tests over ../shared/data when present).
set -euo pipefail
cd "$(dirname "$0")/.."

if grep -qv '^\s*\(#\|$\)' requirements-test.txt; then
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
fi

if [ ! -d ../shared/data ]; then
  echo "note: ../shared/data is absent; corpus tests will say they are skipped" >&2
fi

# Tests must not see a bundle the developer built in their own cache.
export XDG_CACHE_HOME="$PWD/target/test-cache"
mkdir -p "$XDG_CACHE_HOME"

# Keep cargo's output, then close with one total line: cargo's own last line is the
# result of whichever test binary ran last (often one with no tests), not of the suite.
log=target/test-output.log
mkdir -p target
status=0
cargo test --locked --all-targets 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) passed += $i; if ($(i+1) ~ /^failed;?$/) failed += $i } }
     END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
