#!/usr/bin/env bash
# Benchmark `snapscan scan snapshot` over the EBS direct API with a fixed added latency
# per GetSnapshotBlock: the same scan at --concurrency 32 and 1, in the same run. Prints
# wall time, blocks fetched vs blocks allocated, API calls and peak RSS for each.
#
#   scripts/bench-ebs.sh [--latency-ms 30] [--image PATH]
# The snapshot is served by examples/ebs_bench_server.rs (a fast stand-in for the EBS
# read API on 127.0.0.1; moto serves only ~100 blocks/s here). The default image is the
# one scripts/bench.sh builds (target/bench/usr-share-8g.img), else the demo image.
set -euo pipefail
cd "$(dirname "$0")/.."
latency=30
image=
while [ $# -gt 0 ]; do
  case $1 in
    --latency-ms) latency=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    *) echo "usage: $0 [--latency-ms N] [--image PATH]" >&2; exit 2 ;;
  esac
done
if [ -z "$image" ]; then
  image=target/bench/usr-share-8g.img
  [ -f "$image" ] || image=fixtures/demo/debian12.img
fi
cargo build --release --quiet --bin snapscan --example ebs_bench_server
work=$(mktemp -d)
exec 3> >(target/release/examples/ebs_bench_server "$image" "$latency" > "$work/port" 2> "$work/server.log")
trap 'exec 3>&-; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.2; done
port=$(awk '{print $2}' "$work/port")
[ -n "$port" ] || { echo "bench server did not start: $(cat "$work/server.log")" >&2; exit 1; }
echo "image: $image   added latency per block: ${latency} ms"
for concurrency in 32 1; do
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 \
  AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    /usr/bin/time -f "%e %M" -o "$work/time" \
    target/release/snapscan -q scan snapshot snap-bench --concurrency "$concurrency" -f json -o "$work/report.json"
  python3 - "$work/report.json" "$work/time" "$concurrency" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
wall, rss_kib = open(sys.argv[2]).read().split()
ebs = report["stats"]["ebs"]
fetched, allocated = ebs["blocks_fetched"], ebs["blocks_allocated"]
print(f"concurrency {sys.argv[3]:>2}: wall {float(wall):6.2f} s  packages {len(report['packages']):4d}  "
      f"blocks fetched {fetched} of {allocated} allocated ({100 * fetched / max(allocated, 1):.1f} %)  "
      f"GetSnapshotBlock {ebs['get_snapshot_block_calls']}  retries {ebs['retries']}  "
      f"peak RSS {int(rss_kib) / 1024:.0f} MiB  cost ${ebs['estimated_cost_usd']:.4f}")
PY
done
