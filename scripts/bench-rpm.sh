#!/usr/bin/env bash
# Measure the rpm cataloger on realistic sizes (a benchmark, not a test): an ext4 image
# holding Amazon Linux 2023's real rpmdb.sqlite (../shared/data, 103 packages), and one
# holding a BerkeleyDB `Packages` of 2060 headers (the same 103 real headers loaded 20
# times under different header numbers with db_load: 42 MiB, the size of a busy RHEL 7
# host's). Prints wall time, bytes read, read calls and peak RSS of `snapscan scan image`.
# Each root also holds one pip-installed dist-info that no RPM owns, so the default run
# includes the ownership pass (every header's file list read and checked); the
# `--all-packages` run skips that pass, and the difference is its cost.
# Tools: sqlite3, db_load, mke2fs, /usr/bin/time. Builds the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${SNAPSCAN_SHARED_DATA:-../shared/data}
database=$data/pkgdb/rpm/knqyf263__go-rpmdb/pkg/testdata/amazonlinux2023-plain/rpmdb.sqlite
[ -f "$database" ] || { echo "skipped: $database not present"; exit 0; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
binary=target/release/snapscan

mkdir -p "$work/sqlite/var/lib/rpm" "$work/bdb/var/lib/rpm" "$work/sqlite/etc" "$work/bdb/etc"
for kind in sqlite bdb; do
  mkdir -p "$work/$kind/usr/local/lib/python3.9/site-packages/six-1.16.0.dist-info"
  printf 'Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n' \
    > "$work/$kind/usr/local/lib/python3.9/site-packages/six-1.16.0.dist-info/METADATA"
done
printf 'ID="amzn"\nVERSION_ID="2023"\n' > "$work/sqlite/etc/os-release"
printf 'ID="amzn"\nVERSION_ID="2"\n' > "$work/bdb/etc/os-release"
cp "$database" "$work/sqlite/var/lib/rpm/rpmdb.sqlite"
scripts/rpmdb-dump.sh "$database" 20 1234 > "$work/dump"
db_load -c db_pagesize=4096 -f "$work/dump" "$work/bdb/var/lib/rpm/Packages"

for kind in sqlite bdb; do
  mke2fs -q -F -t ext4 -d "$work/$kind" "$work/$kind.img" 256M
  for mode in fold all-packages; do
    flags=(--no-progress)
    [ "$mode" = all-packages ] && flags+=(--all-packages)
    /usr/bin/time -f '%e s wall, %M KiB peak RSS' -o "$work/time" \
      "$binary" scan image --format json "${flags[@]}" "$work/$kind.img" > "$work/$kind.json"
    python3 - "$work/$kind.json" "$kind $mode" "$(cat "$work/time")" "$(stat -c %s "$work/$kind/var/lib/rpm/"*)" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
stats = report["stats"]
rpm = [p for p in report["packages"] if p["found_by"] == "rpm"]
print(f"{sys.argv[2]:>19}: database {int(sys.argv[4]) / 2**20:.1f} MiB, {len(rpm)} distinct packages, "
      f"{stats['bytes_read'] / 2**20:.1f} MiB read in {stats['read_calls']} calls, "
      f"{stats['elapsed_ms']} ms in scan, {sys.argv[3]}, {len(report['issues'])} issues")
PY
  done
done
