#!/usr/bin/env bash
# Benchmark of the language catalogers (not a test): builds a synthetic root tree with a
# large node_modules (tens of thousands of files), a few hundred Python distributions and
# large lockfiles of every format, makes an ext4 image of it with mke2fs -d, and prints what
# each cataloger adds to a scan (median wall time, bytes read, files opened) on a release
# build with a warm page cache. Nothing is committed; the image lives in a temp directory.
# Usage: scripts/bench-lang.sh [NPM_PACKAGES] [RUNS]
set -euo pipefail
repository=$(cd "$(dirname "$0")/.." && pwd)
packages=${1:-20000}
runs=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work/tree" "$packages" <<'EOF'
import json, os, sys
root, count = sys.argv[1], int(sys.argv[2])
def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
filler = "// code that is not metadata\n" * 40
readme = "# readme\n" + "Lorem ipsum dolor sit amet. " * 80 + "\n"
app = f"{root}/srv/bigapp"
lock = {"": {"name": "bigapp", "version": "1.0.0"}}
for index in range(count):
    name = f"@scope{index % 50}/pkg-{index}" if index % 10 == 0 else f"pkg-{index}"
    version = f"{index % 7}.{index % 13}.{index % 5}"
    # One package in five is nested under an earlier one, as npm does for conflicts.
    base = f"node_modules/pkg-{index - 1}/node_modules/{name}" if index % 5 == 4 else f"node_modules/{name}"
    manifest = {"name": name, "version": version, "description": "synthetic", "main": "index.js",
                "license": "MIT", "dependencies": {"pkg-1": "^1.0.0"}}
    write(f"{app}/{base}/package.json", json.dumps(manifest, indent=2))
    write(f"{app}/{base}/index.js", filler)
    write(f"{app}/{base}/README.md", readme)
    if index % 20 == 0:
        write(f"{app}/{base}/lib/package.json", '{"type": "module"}')
    lock[base] = {"version": version, "integrity": "sha512-00", "license": "MIT"}
write(f"{app}/package-lock.json", json.dumps({"name": "bigapp", "lockfileVersion": 3, "packages": lock}, indent=2))
yarn = ["# yarn lockfile v1", ""]
pnpm = ["lockfileVersion: '9.0'", "", "packages:", ""]
for index in range(count // 4):
    yarn += [f"pkg-{index}@^1.0.0:", f'  version "1.0.{index}"', f'  resolved "https://registry.example.org/pkg-{index}.tgz"', ""]
    pnpm += [f"  pkg-{index}@1.0.{index}:", "    resolution: {integrity: sha512-00}", ""]
write(f"{root}/srv/yarnapp/yarn.lock", "\n".join(yarn))
write(f"{root}/srv/pnpmapp/pnpm-lock.yaml", "\n".join(pnpm))
site = f"{root}/usr/lib/python3/dist-packages"
for index in range(300):
    write(f"{site}/dist{index}-1.{index}.dist-info/METADATA",
          f"Metadata-Version: 2.1\nName: dist{index}\nVersion: 1.{index}\nSummary: synthetic\n\n" + readme * 2)
    write(f"{site}/dist{index}-1.{index}.dist-info/RECORD", f"dist{index}/__init__.py,,\n")
    for module in range(5):
        write(f"{site}/dist{index}/module{module}.py", filler)
cargo = ["version = 3", ""]
for index in range(500):
    cargo += ["[[package]]", f'name = "crate{index}"', f'version = "0.{index}.0"',
              'source = "registry+https://index.example.org/crates-index"', ""]
write(f"{root}/srv/rustapp/Cargo.lock", "\n".join(cargo))
gems = ["GEM", "  remote: https://gems.example.org/", "  specs:"] + [f"    gem{index} (1.{index})" for index in range(200)]
write(f"{root}/srv/rubyapp/Gemfile.lock", "\n".join(gems) + "\n")
composer = {"packages": [{"name": f"vendor/p{index}", "version": f"1.{index}.0"} for index in range(200)]}
write(f"{root}/var/www/app/vendor/composer/installed.json", json.dumps(composer))
deps = {"libraries": {f"Lib{index}/1.{index}.0": {"type": "package"} for index in range(200)}}
write(f"{root}/opt/dotnet/App.deps.json", json.dumps(deps))
EOF
files=$(find "$work/tree" -type f | wc -l)
mke2fs -q -t ext4 -N 400000 -d "$work/tree" "$work/bench.img" 2G
cargo build --quiet --release --example bench_catalogers --manifest-path "$repository/Cargo.toml"
echo "image: $files files, $(du -sh --apparent-size "$work/tree" | cut -f1) of data; $runs runs per line"
"$repository/target/release/examples/bench_catalogers" "$work/bench.img" "$runs"
