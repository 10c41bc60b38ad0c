#!/usr/bin/env bash
# Benchmark of the Java, Go and cargo-auditable catalogers (a measurement, not a test):
# builds an ext4 image from a copy of this machine's /usr/bin (about a thousand ordinary
# executables, the negative case: ELF headers read, no build info), every jar on this
# machine (hundreds of real archives, many with nested or shaded metadata) and copies of
# the fixture Go and Rust binaries, then scans it twice with a release build: once as is,
# once with the same files made unwanted (jars renamed, execute bits cleared), so the
# difference is what these catalogers add to the walk. Prints wall time, bytes read,
# read calls and peak RSS for each. Needs: mke2fs, zstd, GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
work=target/bench-binaries
rm -rf "$work"
mkdir -p "$work"
cargo build --release --quiet
snapscan=target/release/snapscan

tree="$work/tree"
mkdir -p "$tree/usr/bin" "$tree/opt/jars" "$tree/usr/local/bin"
cp -a /usr/bin/. "$tree/usr/bin/" 2>/dev/null || true
# Every jar on the machine, under unique names.
index=0
while IFS= read -r -d '' jar; do
  index=$((index + 1))
  mkdir -p "$tree/opt/jars/$index"
  cp "$jar" "$tree/opt/jars/$index/"
done < <(find / -xdev \( -path /proc -o -path "$PWD/target" -o -path /tmp \) -prune -o -name '*.jar' -type f -print0 2>/dev/null)
for copy in $(seq 1 20); do
  zstd -q -dc fixtures/binaries/go-hello.zst > "$tree/usr/local/bin/go-hello-$copy"
  zstd -q -dc fixtures/binaries/auditable-hello.zst > "$tree/usr/local/bin/auditable-hello-$copy"
done
chmod 755 "$tree/usr/local/bin/"*
jars=$(find "$tree" -name '*.jar' | wc -l)
executables=$(find "$tree" -type f -perm -u+x | wc -l)
used=$(du -sb "$tree" | cut -f1)

# Variants with the same bytes, where some files are made unwanted: jars renamed
# (`.jar.off`), executables without execute bits. Differences between the runs are what
# the Java catalogers, the binary (Go + cargo-auditable) catalogers, or all of them add.
variant() {
  local name=$1 hide_jars=$2 hide_executables=$3
  cp -a "$tree" "$work/$name"
  if [ "$hide_jars" = yes ]; then
    find "$work/$name" -name '*.jar' -exec sh -c 'for f; do mv "$f" "$f.off"; done' _ {} +
  fi
  if [ "$hide_executables" = yes ]; then
    find "$work/$name" -type f -perm -u+x -exec chmod a-x {} +
  fi
}
variant jars-only no yes
variant executables-only yes no
variant control yes yes

image_size=$(( (used * 13 / 10 / 1048576 + 64) ))M
for name in tree jars-only executables-only control; do
  truncate -s "$image_size" "$work/$name.img"
  mke2fs -q -F -t ext4 -d "$work/$name" "$work/$name.img"
  rm -rf "${work:?}/$name"
done

measure() {
  local image=$1
  # Warm the page cache so both runs read from memory.
  cat "$image" > /dev/null
  # Three runs, the fastest counts: the machine is shared and noisy.
  : > "$work/time.txt"
  for _ in 1 2 3; do
    /usr/bin/time -a -f '%e %M' -o "$work/time.txt" "$snapscan" scan image "$image" --format json --no-progress -q > "$work/report.json"
  done
  python3 - "$work/report.json" "$work/time.txt" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
wall, rss = min((line.split() for line in open(sys.argv[2]) if line.strip()), key=lambda run: float(run[0]))
stats = report["stats"]
by = {}
for package in report["packages"]:
    by[package["found_by"]] = by.get(package["found_by"], 0) + 1
print(f"  wall {float(wall):.2f} s (best of 3), peak RSS {int(rss) // 1024} MiB, bytes read {stats['bytes_read'] / 1048576:.1f} MiB "
      f"in {stats['read_calls']} calls, files visited {stats['files_visited']}, files read {stats['files_read']}, "
      f"issues {len(report['issues'])}, packages {by}")
EOF
}

echo "tree: $jars jars, $executables executables, $((used / 1048576)) MiB of file data, image $image_size"
echo "all catalogers wanting their files:"
measure "$work/tree.img"
echo "jars only (executables made unwanted):"
measure "$work/jars-only.img"
echo "executables only (jars made unwanted):"
measure "$work/executables-only.img"
echo "control (same files, none wanted):"
measure "$work/control.img"
