#!/usr/bin/env bash
# The one pre-push command: formatting, lints as errors, then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
scripts/test.sh
