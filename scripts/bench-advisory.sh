#!/usr/bin/env bash
# Advisory benchmark: build a bundle from all of ../shared/data/osv (plus the native
# Alpine and Amazon feeds), then open it and match 5,000 packages. Prints build time,
# bundle size, open time and match time. Release build; not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${SNAPSCAN_SHARED_DATA:-../shared/data}"
if [ ! -d "$data" ]; then
  echo "skipped: $data not present" >&2
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
inputs=()
for archive in "$data"/osv/*/*.tar.zst; do
  name="$(basename "$archive" .tar.zst)"
  mkdir -p "$work/$name"
  tar --zstd -xf "$archive" -C "$work/$name"
  inputs+=(--from "$work/$name")
done
inputs+=(--from "$data/distro/alpine" --from "$data/distro/amazon")
cargo build --release --quiet --bin snapscan --example bench_advisory
start=$(date +%s%N)
target/release/snapscan db build "${inputs[@]}" --output "$work/bench.db" > "$work/build.log"
end=$(date +%s%N)
echo "build: $(( (end - start) / 1000000 )) ms ($(head -1 "$work/build.log"))"
echo "bundle size: $(stat -c %s "$work/bench.db") bytes"
target/release/examples/bench_advisory "$work/bench.db" 5000
