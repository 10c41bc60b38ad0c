#!/usr/bin/env bash
# Benchmark `snapscan scan snapshot` over the EBS direct API with a fixed added latency
# per GetSnapshotBlock: the same scan at --concurrency 32 and 1, in the same run. Prints
# wall time, blocks fetched vs blocks allocated, API calls and peak RSS for each.
#
#   scripts/bench-ebs.sh [--latency-ms 30] [--concurrency "32 1"] [--repeat 1] [--image PATH]
# The snapshot is served by examples/ebs_bench_server.rs (a fast stand-in for the EBS
# read API on 127.0.0.1; moto serves only ~100 blocks/s here). The default image is a
# realistic root volume built once into target/bench/root-8g.img: this machine's /usr
# (binaries, libraries, Python, Java, share; without the 1.9 GiB Google Cloud SDK), its
# merged-/usr symlinks (/bin -> usr/bin, ...), /etc,
# the dpkg database, 200 MiB of logs and a 256 MiB data file, as an 8 GiB GPT disk.
# `--image target/bench/usr-share-8g.img` (scripts/bench.sh) is the metadata-heavy case.
# EBS_BENCH_TRACE=FILE makes the server write `start_ms end_ms block` per block served, to
# see how many requests wait at once over the run (a long stretch of one is a chain).
# SNAPSCAN_BENCH_ARGS adds scan options (`--no-default-skips`, `--cache-blocks 384`).
# `--repeat N` scans N rounds (each concurrency in turn, so drift falls on all alike) and
# reports the median wall time per concurrency and the speed-up of the medians: single
# runs at concurrency 32 vary by ±10 % on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-image.sh
source scripts/bench-image.sh
latency=30
concurrencies="32 1"
repeat=1
image=
while [ $# -gt 0 ]; do
  case $1 in
    --latency-ms) latency=$2; shift 2 ;;
    --concurrency) concurrencies=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    *) echo "usage: $0 [--latency-ms N] [--concurrency \"N M\"] [--repeat N] [--image PATH]" >&2; exit 2 ;;
  esac
done
if [ -z "$image" ]; then
  image=target/bench/root-8g.img
  if [ ! -f "$image" ]; then
    mkdir -p target/bench
    tree=$(mktemp -d)
    trap 'rm -rf "$tree"' EXIT
    echo "staging a root volume from this machine ..." >&2
    mkdir -p "$tree/usr/lib" "$tree/var/lib" "$tree/var/log/app" "$tree/home/user" "$tree/etc"
    for directory in bin sbin share include local; do cp -a "/usr/$directory" "$tree/usr/"; done
    for entry in /usr/lib/*; do
      [ "$entry" = /usr/lib/google-cloud-sdk ] || cp -a "$entry" "$tree/usr/lib/"
    done
    cp -a /var/lib/dpkg "$tree/var/lib/dpkg"
    # A merged-/usr root: /bin, /lib, ... are symlinks into /usr, as on this machine.
    for link in bin sbin lib lib32 lib64 libx32; do [ -L "/$link" ] && cp -a "/$link" "$tree/"; done
    cp -a /etc/. "$tree/etc/" 2>/dev/null || true
    # Data no package owns, as a server accumulates it: logs (text) and one large binary file.
    python3 - "$tree/var/log/app" <<'PY'
import random, sys
random.seed(7)
words = "GET POST /api/v1/items /health user=alice user=bob status=200 status=404 status=500 ms".split()
for number in range(20):
    with open(f"{sys.argv[1]}/app.log.{number}", "w") as log:
        written = 0
        while written < 10 << 20:
            line = f"2026-12-0{number % 9 + 1}T12:{random.randrange(60):02d}:00Z " + " ".join(random.choices(words, k=8)) + "\n"
            written += log.write(line)
PY
    head -c 256M /dev/urandom > "$tree/home/user/data.bin"
    make_root_image "$tree" "$image"
    rm -rf "$tree"
  fi
fi
cargo build --release --quiet --bin snapscan --example ebs_bench_server
work=$(mktemp -d)
exec 3> >(target/release/examples/ebs_bench_server "$image" "$latency" > "$work/port" 2> "$work/server.log")
trap 'exec 3>&-; rm -rf "$work"' EXIT
# The server reads and hashes the whole image first (a minute with a cold page cache).
for _ in $(seq 600); do [ -s "$work/port" ] && break; sleep 0.2; done
port=$(awk '{print $2}' "$work/port")
[ -n "$port" ] || { echo "bench server did not start: $(cat "$work/server.log")" >&2; exit 1; }
echo "image: $image   added latency per block: ${latency} ms"
for round in $(seq "$repeat"); do
for concurrency in $concurrencies; do
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 \
  AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    /usr/bin/time -f "%e %M" -o "$work/time" \
    target/release/snapscan -q scan snapshot snap-bench --concurrency "$concurrency" ${SNAPSCAN_BENCH_ARGS:-} -f json -o "$work/report.json"
  python3 - "$work/report.json" "$work/time" "$concurrency" "$work/walls" "$round" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
wall, rss_kib = open(sys.argv[2]).read().split()
ebs = report["stats"]["ebs"]
fetched, allocated = ebs["blocks_fetched"], ebs["blocks_allocated"]
print(f"concurrency {sys.argv[3]:>2}: wall {float(wall):6.2f} s  packages {len(report['packages']):4d}  "
      f"blocks fetched {fetched} of {allocated} allocated ({100 * fetched / max(allocated, 1):.1f} %)  "
      f"GetSnapshotBlock {ebs['get_snapshot_block_calls']}  retries {ebs['retries']}  "
      f"peak RSS {int(rss_kib) / 1024:.0f} MiB  cost ${ebs['estimated_cost_usd']:.4f}")
with open(sys.argv[4], "a") as walls:
    walls.write(f"{sys.argv[3]} {wall}\n")
json.dump(report["packages"], open(f"{sys.argv[4]}.{sys.argv[3]}.{sys.argv[5]}", "w"))
PY
done
done
python3 - "$work/walls" <<'PY'
import glob, statistics, sys
walls = {}
for line in open(sys.argv[1]):
    concurrency, wall = line.split()
    walls.setdefault(concurrency, []).append(float(wall))
inventories = {open(path).read() for path in glob.glob(f"{sys.argv[1]}.*")}
print("inventories at every concurrency:", "identical" if len(inventories) == 1 else "DIFFERENT")
median = {concurrency: statistics.median(runs) for concurrency, runs in walls.items()}
for concurrency, runs in walls.items():
    if len(runs) > 1:
        listed = " ".join(f"{run:.2f}" for run in runs)
        print(f"concurrency {concurrency:>2}: median wall {median[concurrency]:.2f} s of {len(runs)} runs ({listed})")
if "1" in median and len(median) > 1:
    for concurrency, wall in median.items():
        if concurrency != "1":
            print(f"speed-up at concurrency {concurrency}: {median['1'] / wall:.1f}x")
PY
