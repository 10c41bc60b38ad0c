#!/usr/bin/env bash
# Compare scanning the same large tree on ext4 and on XFS: a copy of this machine's
# /usr/share (tens of thousands of files), its dpkg status and os-release, in the same
# 8 GiB GPT layout as scripts/bench.sh. Prints, per filesystem, wall time (best of N,
# warm page cache), bytes read, read calls, files visited and packages, then the XFS/ext4
# ratios (the goal is within 1.5x).
#
#   scripts/bench-xfs.sh [--runs N]
# Images are built once into target/bench-xfs/ (needs root for the XFS loop mount:
# /usr/share has names with spaces, which mkfs.xfs protofiles cannot express).
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
bench=target/bench-xfs
mkdir -p "$bench"
if [ ! -f "$bench/ext4.img" ] || [ ! -f "$bench/xfs.img" ]; then
    tree=$(mktemp -d)
    mountpoint=$(mktemp -d)
    trap 'mountpoint -q "$mountpoint" && umount "$mountpoint"; rm -rf "$tree" "$mountpoint"' EXIT
    stage_usr_share "$tree"
    make_root_image "$tree" "$bench/ext4.img"
    echo "making xfs ..." >&2
    rm -f "$bench/root.xfs"
    truncate -s 7G "$bench/root.xfs"
    mkfs.xfs -q -f "$bench/root.xfs"
    mount -o loop "$bench/root.xfs" "$mountpoint"
    cp -a "$tree/." "$mountpoint/"
    umount "$mountpoint"
    make_disk "$bench/xfs.img" "$bench/root.xfs"
fi
cargo build --release --quiet
for image in "$bench/ext4.img" "$bench/xfs.img"; do
    target/release/snapscan -q scan image "$image" --no-default-skips -f json >/dev/null || true
done
python3 - "$bench/ext4.img" "$bench/xfs.img" "$runs" <<'PY'
import json, subprocess, sys, time
images, runs = sys.argv[1:3], int(sys.argv[3])
results = {}
for image in images:
    best = None
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(["target/release/snapscan", "-q", "scan", "image", image, "--no-default-skips", "-f", "json"], capture_output=True, check=False)
        wall = time.perf_counter() - start
        report = json.loads(out.stdout)
        if best is None or wall < best[0]:
            best = (wall, report)
    wall, report = best
    kinds = {partition["filesystem"]["type"] for volume in report["targets"][0]["volumes"] for partition in volume["partitions"] if partition.get("filesystem")}
    results[image] = (wall, report)
    stats = report["stats"]
    print(f"{image}: {sorted(kinds)}")
    print(f"  wall time      {wall * 1000:.0f} ms (best of {runs}, warm page cache)")
    print(f"  bytes read     {stats['bytes_read'] / 2**20:.1f} MiB")
    print(f"  read calls     {stats['read_calls']}")
    print(f"  files visited  {stats['files_visited']}")
    print(f"  packages       {len(report['packages'])}")
    print(f"  issues         {len(report['issues'])}")
(ext4_wall, ext4), (xfs_wall, xfs) = results[images[0]], results[images[1]]
print("xfs / ext4:")
print(f"  wall time      {xfs_wall / ext4_wall:.2f}x")
for key in ["bytes_read", "read_calls", "files_visited"]:
    print(f"  {key:<14} {xfs['stats'][key] / max(1, ext4['stats'][key]):.2f}x")
PY
