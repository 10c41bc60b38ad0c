#!/usr/bin/env bash
# Benchmark `snapscan scan image` on a large, realistic disk: an 8 GiB GPT image whose
# ext4 root holds a copy of this machine's /usr/share (tens of thousands of files) and
# its dpkg status (hundreds of packages). Prints wall time, bytes read (and the share
# of the filesystem's used bytes), read calls, files visited and peak RSS.
#
#   scripts/bench.sh [--runs N] [--keep]
# The image is built once into target/bench/ (needs mke2fs and sfdisk; no root).
# Scans use --no-default-skips: the tree is mostly /usr/share, whose man, doc and locale
# trees a default scan skips, and this bench measures the metadata-heavy walk.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-image.sh
source scripts/bench-image.sh
runs=3
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N]" >&2; exit 2 ;;
  esac
done
bench=target/bench
image=$bench/usr-share-8g.img
mkdir -p "$bench"
if [ ! -f "$image" ]; then
  tree=$(mktemp -d)
  trap 'rm -rf "$tree"' EXIT
  stage_usr_share "$tree"
  make_root_image "$tree" "$image"
fi
cargo build --release --quiet
used=$(python3 - "$image" "$root_partition_start" <<'PY'
import struct, sys
# Used bytes of the ext4 filesystem: (blocks - free blocks) * block size, from its superblock.
with open(sys.argv[1], "rb") as disk:
    disk.seek(int(sys.argv[2]) * 512 + 1024)
    sb = disk.read(1024)
blocks = struct.unpack_from("<I", sb, 4)[0] | (struct.unpack_from("<I", sb, 0x150)[0] << 32)
free = struct.unpack_from("<I", sb, 12)[0] | (struct.unpack_from("<I", sb, 0x158)[0] << 32)
print((blocks - free) * (1024 << struct.unpack_from("<I", sb, 24)[0]))
PY
)
cat /proc/sys/vm/drop_caches >/dev/null 2>&1 || true
# Warm the page cache once so runs measure snapscan, not the host disk.
target/release/snapscan -q scan image "$image" --no-default-skips -f json >/dev/null || true
python3 - "$image" "$runs" "$used" <<'PY'
import json, resource, subprocess, sys, time
image, runs, used = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
best = None
for run in range(runs):
    start = time.perf_counter()
    out = subprocess.run(["target/release/snapscan", "-q", "scan", "image", image, "--no-default-skips", "-f", "json"], capture_output=True, check=False)
    wall = time.perf_counter() - start
    report = json.loads(out.stdout)
    if best is None or wall < best[0]:
        best = (wall, report)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
wall, report = best
stats = report["stats"]
print(f"image          {image} (8 GiB GPT, ext4 root with {used / 2**20:.0f} MiB used)")
print(f"packages       {len(report['packages'])}")
print(f"files visited  {stats['files_visited']}")
print(f"wall time      {wall * 1000:.0f} ms (best of {runs}, warm page cache)")
print(f"bytes read     {stats['bytes_read'] / 2**20:.1f} MiB = {100 * stats['bytes_read'] / used:.2f} % of used bytes")
print(f"read calls     {stats['read_calls']}")
print(f"peak RSS       {rss:.1f} MiB")
PY
