#!/usr/bin/env bash
# Build the committed demo advisory bundle from the hand-written OSV records in
# fixtures/advisories/ (real CVEs affecting packages of the demo image's
# var/lib/dpkg/status, with the Debian 12 fixed versions). Run it after editing a record.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet -- db build --from fixtures/advisories --output fixtures/demo/advisories.db
ls -l fixtures/demo/advisories.db
