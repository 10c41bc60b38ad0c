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

cargo test --locked --all-targets
