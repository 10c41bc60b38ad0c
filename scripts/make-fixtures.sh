#!/usr/bin/env bash
# Build the ext2/3/4 fixture images and the demo image with the real tools, and write a
# walk manifest beside each image (from the source trees, not from snapscan's reader).
# Needs root only for the 4 KiB-sector GPT (a loop device with --sector-size 4096).
# Tools: mke2fs (e2fsprogs), sfdisk (fdisk), mkswap, losetup, zstd, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=fixtures/images
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Fixed times, UUIDs and hash seeds make the images reproducible.
export E2FSPROGS_FAKE_TIME=1700000000
export SOURCE_DATE_EPOCH=1700000000

# --- the walk tree: every shape the walk must handle --------------------------------
walk=$work/walk
mkdir -p "$walk"/{etc,usr/lib,var/lib/dpkg,htree,loop,deep}
cp fixtures/trees/demo/usr/lib/os-release "$walk/usr/lib/os-release"
ln -s ../usr/lib/os-release "$walk/etc/os-release"
ln -s /usr/lib/os-release "$walk/etc/absolute-link"
ln -s b "$walk/loop/a"; ln -s a "$walk/loop/b"
ln -s . "$walk/loop/self"
ln -s ../../../../../../outside "$walk/etc/escaping-link"
# A directory larger than one block is stored as an htree (hashed) directory.
for index in $(seq -w 1 700); do echo "$index" > "$walk/htree/entry-$index-with-a-long-name-to-fill-blocks"; done
path=$walk/deep
for level in $(seq 1 40); do path=$path/level-$level; done
mkdir -p "$path"; echo bottom > "$path/file"
printf 'not utf-8\n' > "$walk/$(printf 'bad-\xff\xfe-name')"
: > "$walk/empty"
python3 -c "import random,sys; r=random.Random(7); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(40000)))" > "$walk/random.bin"
truncate -s 2M "$walk/sparse"; printf 'tail' >> "$walk/sparse"
sed -n '/^Package: bash$/,/^$/p;/^Package: libssl3$/,/^$/p' fixtures/trees/demo/var/lib/dpkg/status > "$walk/var/lib/dpkg/status"

small=$work/small
mkdir -p "$small/etc"
printf 'ID=alpine\nVERSION_ID=3.20.3\n' > "$small/etc/os-release"
echo small > "$small/hello.txt"

make_fs() { # type size tree output extra-options...
  local type=$1 size=$2 tree=$3 output=$4; shift 4
  rm -f "$output"
  mke2fs -q -F -t "$type" -d "$tree" -U 5a1b2c3d-0000-4000-8000-00000000000${#type} \
    -E hash_seed=5a1b2c3d-1111-4000-8000-000000000000 "$@" "$output" "$size"
}

place() { # filesystem-image disk offset-in-bytes
  dd if="$1" of="$2" bs=64K seek="$3" oflag=seek_bytes conv=notrunc,sparse status=none
}

# ext2 with no partition table, 1 KiB blocks.
make_fs ext2 8M "$walk" "$out/ext2-bare.img" -b 1024
python3 scripts/manifest.py - "$walk" > "$out/ext2-bare.manifest"

# ext4 (64bit, metadata_csum) in a 512-byte-sector GPT, beside an EFI and a swap partition.
disk=$out/ext4-gpt.img
rm -f "$disk"; truncate -s 24M "$disk"
sfdisk -q "$disk" <<'TABLE'
label: gpt
label-id: 5A1B2C3D-2222-4000-8000-000000000000
start=2048, size=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"
start=4096, size=4096, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name="swap"
start=8192, size=36864, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
TABLE
truncate -s 2M "$work/swap"; mkswap -q -U 5a1b2c3d-3333-4000-8000-000000000000 "$work/swap"
place "$work/swap" "$disk" $((4096 * 512))
make_fs ext4 18M "$walk" "$work/root.ext4" -O 64bit,metadata_csum
place "$work/root.ext4" "$disk" $((8192 * 512))
python3 scripts/manifest.py 3 "$walk" > "$out/ext4-gpt.manifest"

# ext3 and ext4/ext2 in an MBR with an extended partition holding two logical ones.
disk=$out/ext3-mbr-logical.img
rm -f "$disk"; truncate -s 40M "$disk"
sfdisk -q "$disk" <<'TABLE'
label: dos
label-id: 0x5a1b2c3d
start=2048, size=18432, type=83
start=20480, size=59392, type=5
start=22528, size=18432, type=83
start=43008, size=16384, type=83
TABLE
make_fs ext3 9M "$walk" "$work/p1" -b 1024
place "$work/p1" "$disk" $((2048 * 512))
make_fs ext4 9M "$walk" "$work/p5"
place "$work/p5" "$disk" $((22528 * 512))
make_fs ext2 8M "$small" "$work/p6"
place "$work/p6" "$disk" $((43008 * 512))
python3 scripts/manifest.py 1 "$walk" 5 "$walk" 6 "$small" > "$out/ext3-mbr-logical.manifest"

# ext4 in a 4096-byte-sector GPT (as on some NVMe disks); sfdisk takes the sector size
# from the device, so the table is written through a loop device.
disk=$out/ext4-gpt-4k.img
rm -f "$disk"; truncate -s 24M "$disk"
loop=$(losetup -f --show --sector-size 4096 "$disk")
sfdisk -q "$loop" <<'TABLE' || true
label: gpt
label-id: 5A1B2C3D-4444-4000-8000-000000000000
start=256, size=5120, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
TABLE
losetup -d "$loop"
make_fs ext4 20M "$walk" "$work/root4k.ext4" -b 4096
place "$work/root4k.ext4" "$disk" $((256 * 4096))
python3 scripts/manifest.py 1 "$walk" > "$out/ext4-gpt-4k.manifest"

# ext4 with a directory cycle: debugfs links /a/b/back-to-a to /a's inode, as a corrupt
# or hostile image would. The walk must report it and stop, not loop.
cycle=$work/cycle
mkdir -p "$cycle/a/b"; echo inside > "$cycle/a/b/file"
make_fs ext4 4M "$cycle" "$out/ext4-cycle.img"
debugfs -w -R "ln /a /a/b/back-to-a" "$out/ext4-cycle.img" 2>/dev/null

for image in "$out"/*.img; do zstd -q -19 -f --rm "$image"; done

# --- the demo image: a Debian 12 root in a GPT disk, committed uncompressed ----------
demo=fixtures/demo/debian12.img
mkdir -p fixtures/demo
rm -f "$demo"; truncate -s 16M "$demo"
sfdisk -q "$demo" <<'TABLE'
label: gpt
label-id: 5A1B2C3D-5555-4000-8000-000000000000
start=2048, size=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"
start=4096, size=28639, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
TABLE
make_fs ext4 13M fixtures/trees/demo "$work/demo.ext4" -L demo-root
place "$work/demo.ext4" "$demo" $((4096 * 512))
echo "fixtures written to $out and $demo"
