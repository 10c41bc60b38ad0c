#!/usr/bin/env bash
# Build the XFS fixture images with the real tools (xfsprogs, sfdisk) and write a walk
# manifest beside each: one line per path, "path<TAB>type<TAB>size<TAB>sha256", taken from
# the source tree or the mounted filesystem — never from snapscan's own reader.
#
#   xfs-v5-gpt4k.img  v5, 4 KiB blocks and 4 KiB sectors, in a 4 KiB-sector GPT (protofile)
#   xfs-v4.img        v4 (crc=0, ftype=0), 1 KiB blocks, 8 KiB directory blocks, bare (protofile)
#   xfs-64k.img       v5, 64 KiB blocks, large extent counters (nrext64), bare (protofile)
#   xfs-forms.img     v5, 512-byte sectors, bare, populated through a loop mount: every
#                     directory form, hard links, a bmbt-format file, a sparse file over
#                     4 GiB, unwritten extents, a non-UTF-8 name
#   xfs-dirty.img     v5, shut down while mounted: the log holds unreplayed records
#   xfs-demo.img      the ext4 demo image's Debian 12 tree (fixtures/trees/demo), v5 in a GPT
#
#   scripts/make-fixtures-xfs.sh [tree|forms|dirty|demo|al2023]...   (default: all)
# Needs root (loop mount, mknod). Images are compressed with zstd -19 into fixtures/xfs/.
set -euo pipefail

repository=$(cd "$(dirname "$0")/.." && pwd)
output="$repository/fixtures/xfs"
work=$(mktemp -d)
mountpoint="$work/mnt"
cleanup() {
    mountpoint -q "$mountpoint" && umount "$mountpoint"
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$output" "$mountpoint"
# Fixed UUIDs and timestamps keep rebuilt images comparable.
export SOURCE_DATE_EPOCH=1700000000
size=300m

# make_tree DIRECTORY: the source tree of the protofile images. Names have no spaces
# (protofiles split on them).
make_tree() {
    python3 - "$1" <<'PYTHON'
import os, sys, stat
root = sys.argv[1]

def write(path, data):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as handle:
        handle.write(data)

def link(path, target):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    os.symlink(target, full)

def pseudo_random(count, seed):
    state, out = seed, bytearray()
    while len(out) < count:
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out += state.to_bytes(8, "little")
    return bytes(out[:count])

write("usr/lib/os-release", b'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\nPRETTY_NAME="Amazon Linux 2023.6.20241212"\n')
link("etc/os-release", "../usr/lib/os-release")
write("etc/system-release", b"Amazon Linux release 2023.6.20241212 (Amazon Linux)\n")
write("var/lib/dpkg/status", b"Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n\n"
      b"Package: openssl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0.15-1~deb12u1\n\n")
write("data/empty", b"")
write("data/small.txt", b"hello from xfs\n")
write("data/random.bin", pseudo_random(300 * 1024 + 17, 1))
# Directory forms by entry count and name length (checked with xfs_db afterwards).
for index in range(3):
    write(f"dirs/short/f{index}", b"s%d\n" % index)
for index in range(25):
    write(f"dirs/block/block-entry-number-{index:04d}", b"")
for index in range(150):
    write(f"dirs/leaf/{'l' * 48}-{index:05d}", b"")
for index in range(1000):
    write(f"dirs/node/node-entry-with-a-longish-name-{index:06d}", b"")
# Long names, each file with a block of data allocated between directory blocks, so the
# directory's data blocks scatter into more extents than fit in the inode: B+tree form.
for index in range(1500):
    write(f"dirs/btree/{'b' * 120}-{index:05d}", b"btree %d\n" % index)
deep = "/".join(f"d{level}" for level in range(40))
write(f"deep/{deep}/bottom.txt", b"deep\n")
link("links/relative", "../usr/lib/os-release")
link("links/absolute", "/usr/lib/os-release")
link("links/loop-a", "loop-b")
link("links/loop-b", "loop-a")
link("links/dangling", "does/not/exist")
os.makedirs(os.path.join(root, "special"), exist_ok=True)
os.mkfifo(os.path.join(root, "special/fifo"))
os.mknod(os.path.join(root, "special/null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
os.makedirs(os.path.join(root, "empty-directory"), exist_ok=True)

PYTHON
}

# protofile TREE OUT: an mkfs.xfs protofile that recreates TREE (owner root).
protofile() {
    python3 - "$1" "$2" <<'PYTHON'
import os, sys, stat
root, proto_path = sys.argv[1], sys.argv[2]
# mkfs.xfs protofile: boot image, block/inode counts, then the root and its entries.
lines = ["/dev/null", "0 0", "d--755 0 0"]
def emit(directory, depth):
    for name in sorted(os.listdir(directory)):
        full = os.path.join(directory, name)
        info = os.lstat(full)
        permissions = "%03o" % (info.st_mode & 0o777)
        indent = " " * depth
        if stat.S_ISDIR(info.st_mode):
            lines.append(f"{indent}{name} d--{permissions} 0 0")
            emit(full, depth + 1)
            lines.append(f"{indent}$")
        elif stat.S_ISLNK(info.st_mode):
            lines.append(f"{indent}{name} l--{permissions} 0 0 {os.readlink(full)}")
        elif stat.S_ISREG(info.st_mode):
            lines.append(f"{indent}{name} ---{permissions} 0 0 {full}")
        elif stat.S_ISFIFO(info.st_mode):
            lines.append(f"{indent}{name} p--{permissions} 0 0")
        elif stat.S_ISCHR(info.st_mode):
            lines.append(f"{indent}{name} c--{permissions} 0 0 {os.major(info.st_rdev)} {os.minor(info.st_rdev)}")
emit(root, 1)
lines.append("$")
with open(proto_path, "w") as handle:
    handle.write("\n".join(lines) + "\n")
PYTHON
}

# manifest ROOT OUT: every path below ROOT, sorted, as the walk test expects.
manifest() {
    python3 - "$1" "$2" <<'PYTHON'
import hashlib, os, stat, sys
root, out = os.fsencode(sys.argv[1]), sys.argv[2]
def display(path):
    return path.decode("utf-8", "surrogateescape").encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
rows = []
for directory, directories, files in os.walk(root):
    for name in directories + files:
        full = os.path.join(directory, name)
        relative = b"/" + os.path.relpath(full, root)
        info = os.lstat(full)
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            kind, size, digest = "directory", "-", "-"
        elif stat.S_ISLNK(mode):
            target = os.readlink(full)
            kind, size, digest = "symlink", str(len(target)), hashlib.sha256(target).hexdigest()
        elif stat.S_ISREG(mode):
            hasher = hashlib.sha256()
            with open(full, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    hasher.update(block)
            kind, size, digest = "file", str(info.st_size), hasher.hexdigest()
        else:
            kind = {stat.S_IFIFO: "fifo", stat.S_IFCHR: "char-device", stat.S_IFBLK: "block-device", stat.S_IFSOCK: "socket"}[stat.S_IFMT(mode)]
            size, digest = "0", "-"
        rows.append((relative, f"{display(relative)}\t{kind}\t{size}\t{digest}"))
with open(out, "w") as handle:
    handle.write("".join(line + "\n" for _, line in sorted(rows)))
PYTHON
}

# make_filesystem IMAGE [mkfs options...]: a fresh image of $size built from the protofile.
make_filesystem() {
    local image=$1
    shift
    rm -f "$image"
    truncate -s "${size}" "$image"
    mkfs.xfs -q -f -m uuid=5a5a5a5a-0000-4000-8000-000000000001 -L "${label:-snapscan}" "$@" "$image"
}

# show_forms IMAGE: the data fork format and block map of the interesting inodes, so a
# rebuilt image can be checked to still hold every form (leaf form maps one block at the
# 32 GiB leaf offset; node form several, plus free-index blocks at 64 GiB).
show_forms() {
    local path
    for path in /dirs/short /dirs/block /dirs/leaf /dirs/node /dirs/btree /extra/fragmented /extra/sparse-large /links/remote; do
        xfs_db -r -c "path $path" -c "print core.format core.nextents" -c "bmap" "$1" 2>/dev/null \
            | awk -v path="$path" 'NR <= 2 { line = line " " $0 } NR > 2 { extents++; if ($0 ~ /offset (8388608|16777216|33554432|67108864|268435456|536870912|524288|1048576)/ || extents <= 2) tail = tail " | " $0 } END { if (line != "") print path ":" line tail }' || true
    done
}

compress() {
    echo "== $(basename "$1")"
    rm -f "$output/$(basename "$1").zst"
    zstd -q -19 --rm "$1" -o "$output/$(basename "$1").zst"
}

build_tree_images() {
    make_tree "$work/tree"
    protofile "$work/tree" "$work/tree.proto"
    manifest "$work/tree" "$work/xfs-tree.manifest"
    compress "$work/xfs-tree.manifest"

    # v5 with 4 KiB sectors inside a GPT whose logical sectors are also 4 KiB.
    make_filesystem "$work/partition.img" -s size=4096 -p "$work/tree.proto"
    local disk="$work/xfs-v5-gpt4k.img" loop
    truncate -s 310m "$disk"
    # sfdisk takes the sector size from the device: a loop device with 4 KiB sectors.
    loop=$(losetup --find --show --sector-size 4096 "$disk")
    printf 'label: gpt\nfirst-lba: 256\nstart=256, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"\n' \
        | sfdisk --quiet --no-reread "$loop"
    losetup --detach "$loop"
    dd if="$work/partition.img" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
    show_forms "$work/partition.img"
    rm "$work/partition.img"
    compress "$disk"

    # v4: no CRCs, no ftype, 1 KiB blocks, directory blocks of 8 filesystem blocks.
    make_filesystem "$work/xfs-v4.img" -m crc=0 -n ftype=0,size=8192 -b size=1024 -p "$work/tree.proto" 2>/dev/null
    show_forms "$work/xfs-v4.img"
    compress "$work/xfs-v4.img"

    # 64 KiB blocks (the largest XFS allows), large extent counters (nrext64); each small
    # file takes a whole 64 KiB block.
    size=500m make_filesystem "$work/xfs-64k.img" -b size=65536 -i nrext64=1 -p "$work/tree.proto"
    show_forms "$work/xfs-64k.img"
    compress "$work/xfs-64k.img"
}

# Every directory form and the data forks mkfs cannot make, through a loop mount.
build_forms_image() {
    [ -d "$work/tree" ] || make_tree "$work/tree"
    local image="$work/xfs-forms.img"
    make_filesystem "$image" -s size=512 -i size=512
    mount -o loop "$image" "$mountpoint"
    cp -a "$work/tree/." "$mountpoint/"
    mkdir "$mountpoint/extra"
    printf 'one inode, two names\n' > "$mountpoint/extra/hard-1"
    ln "$mountpoint/extra/hard-1" "$mountpoint/extra/hard-2"
    ln "$mountpoint/extra/hard-1" "$mountpoint/dirs/short/hard-3"
    # 4 MiB written, then every other 4 KiB punched out: 512 extents, a bmbt data fork.
    xfs_io -f -c "pwrite -q -S 0x5a 0 4m" -c fsync "$mountpoint/extra/fragmented"
    local punches=() offset
    for offset in $(seq 0 8192 $((4 * 1024 * 1024 - 8192))); do punches+=(-c "fpunch $offset 4096"); done
    xfs_io "${punches[@]}" "$mountpoint/extra/fragmented"
    # Over 4 GiB, almost all hole: data at the start, the middle and past 4 GiB.
    xfs_io -f -c "pwrite -q -S 0x11 0 4096" -c "pwrite -q -S 0x22 1g 8192" \
        -c "pwrite -q -S 0x33 4294967296 65536" -c "truncate 4295100000" "$mountpoint/extra/sparse-large"
    # Preallocated but unwritten space reads as zeros; the file ends with written bytes.
    xfs_io -f -c "falloc 0 1m" -c "pwrite -q -S 0x44 1m 100" "$mountpoint/extra/unwritten"
    touch "$mountpoint/extra/$(printf 'not-utf8-\xff\xfe')"
    # A target too long for the inode: a remote symlink with its v5 block header. (mkfs.xfs
    # 6.1 writes protofile symlinks like this without the header, which xfs_db and the
    # kernel reject as corrupt, so remote symlinks are only made here.)
    ln -s "$(printf '/a-long-directory-name-for-a-remote-symlink%.0s' $(seq 20))" "$mountpoint/links/remote"
    # A link to a directory, followed when it is not the last component of a path.
    ln -s ../usr/lib "$mountpoint/links/directory"
    sync
    manifest "$mountpoint" "$work/xfs-forms.manifest"
    umount "$mountpoint"
    show_forms "$image"
    compress "$work/xfs-forms.manifest"

    # Where a few structures are, as xfs_db reports them (for the seeded byte-flip test):
    # "name offset length" per line.
    locate() {
        xfs_db -r "${@:2}" -c stack "$image" | awk -v name="$1" '/byte offset/ { gsub(",", "", $3); print name, $3, $5 }'
    }
    local pointers first_leaf second_leaf
    pointers=$(xfs_db -r -c "path /extra/fragmented" -c "print u3.bmbt.ptrs" "$image")
    first_leaf=$(sed -E 's/.*= 1:([0-9]+).*/\1/' <<< "$pointers")
    second_leaf=$(sed -E 's/.* 2:([0-9]+).*/\1/' <<< "$pointers")
    {
        locate superblock -c "sb 0"
        locate root-inode -c "path /"
        locate small-inode -c "path /data/small.txt"
        locate leaf-directory-block -c "path /dirs/leaf" -c "dblock 0"
        locate btree-directory-block -c "path /dirs/btree" -c "dblock 3"
        locate bmbt-leaf-block -c "fsblock $first_leaf"
        locate remote-symlink-block -c "path /links/remote" -c "dblock 0"
    } > "$output/xfs-forms.structures"
    cat "$output/xfs-forms.structures"

    # Corruptions written with xfs_db in expert mode (which reseals CRCs, so only the
    # structural checks can catch them), kept as byte patches against the forms image:
    # "name offset hex-bytes" per changed run.
    corrupt() {
        local name=$1
        shift
        cp --sparse=always "$image" "$work/corrupt.img"
        xfs_db -x "$@" "$work/corrupt.img" > /dev/null
        python3 - "$name" "$image" "$work/corrupt.img" >> "$output/xfs-forms.corruptions" <<'PYTHON'
import sys
name, pristine, changed = sys.argv[1], open(sys.argv[2], "rb"), open(sys.argv[3], "rb")
offset, positions = 0, []
while True:
    left, right = pristine.read(1 << 20), changed.read(1 << 20)
    if not left:
        break
    if left != right:
        positions += [offset + index for index in range(len(left)) if left[index] != right[index]]
    offset += len(left)
assert positions, f"{name}: xfs_db changed nothing"
runs = [[positions[0], positions[0]]]
for position in positions[1:]:
    if position - runs[-1][1] <= 16:
        runs[-1][1] = position
    else:
        runs.append([position, position])
for first, last in runs:
    changed.seek(first)
    print(name, first, changed.read(last - first + 1).hex())
PYTHON
    }
    rm -f "$output/xfs-forms.corruptions"
    corrupt bmbt-loop -c "path /extra/fragmented" -c "write u3.bmbt.ptrs[2] $first_leaf"
    corrupt absurd-extent-count -c "path /data/random.bin" -c "write core.nextents 4000000000"
    corrupt absurd-bmbt-extent-count -c "path /extra/fragmented" -c "write core.nextents 511"
    corrupt bmbt-wrong-level -c "fsblock $second_leaf" -c "type bmapbta" -c "write level 3"
    cat "$output/xfs-forms.corruptions"
    rm -f "$work/corrupt.img"
    compress "$image"
}

# A log with records and no unmount record: shut down while mounted.
build_dirty_image() {
    [ -d "$work/tree" ] || make_tree "$work/tree"
    make_filesystem "$work/xfs-dirty.img"
    mount -o loop "$work/xfs-dirty.img" "$mountpoint"
    cp -a "$work/tree/usr" "$work/tree/etc" "$mountpoint/"
    sync
    xfs_io -x -c "shutdown -f" "$mountpoint"
    umount "$mountpoint"
    xfs_logprint -t "$work/xfs-dirty.img" 2>/dev/null | grep -E "state" || true
    compress "$work/xfs-dirty.img"
}

# The demo root (scripts/stage-demo-root.sh, as in the ext4 demo image) on XFS in a GPT: a scan must
# find the same distro and packages as on ext4.
build_demo_image() {
    "$repository/scripts/stage-demo-root.sh" "$work/demo-root"
    protofile "$work/demo-root" "$work/demo.proto"
    label=demo-root make_filesystem "$work/demo.xfs" -p "$work/demo.proto"
    local disk="$work/xfs-demo.img"
    truncate -s 302m "$disk"
    printf 'label: gpt\nstart=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"\n' | sfdisk --quiet "$disk"
    dd if="$work/demo.xfs" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
    rm "$work/demo.xfs"
    compress "$disk"
}

# An Amazon-Linux-2023-like disk with an XFS root, as AL2023 AMIs ship: the root tree
# (os-release, rpmdb.sqlite written by rpm --justdb) is taken from the ext4 rpm fixture
# that scripts/make-fixtures-rpm.sh built, so both must list exactly the same packages.
build_al2023_image() {
    local ext4_disk="$work/al2023-ext4.img"
    zstd -q -d "$repository/fixtures/rpm/al2023-gpt.img.zst" -o "$ext4_disk"
    # Partition 2 of that disk starts at sector 4096.
    dd if="$ext4_disk" of="$work/al2023-root.ext4" bs=512 skip=4096 status=none
    mkdir "$work/al2023-root"
    debugfs -R "rdump / $work/al2023-root" "$work/al2023-root.ext4" 2>/dev/null
    rm -rf "$work/al2023-root/lost+found" "$ext4_disk" "$work/al2023-root.ext4"
    protofile "$work/al2023-root" "$work/al2023.proto"
    label=al2023-root make_filesystem "$work/al2023.xfs" -p "$work/al2023.proto"
    local disk="$work/al2023-xfs-gpt.img"
    truncate -s 304m "$disk"
    printf 'label: gpt\nstart=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name="bios"\nstart=4096, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"\n' \
        | sfdisk --quiet "$disk"
    dd if="$work/al2023.xfs" of="$disk" bs=512 seek=4096 conv=notrunc,sparse status=none
    rm "$work/al2023.xfs"
    compress "$disk"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(tree forms dirty demo al2023)
for target in "${targets[@]}"; do
    case $target in
        tree) build_tree_images ;;
        forms) build_forms_image ;;
        dirty) build_dirty_image ;;
        demo) build_demo_image ;;
        al2023) build_al2023_image ;;
        *) echo "usage: $0 [tree|forms|dirty|demo|al2023]..." >&2; exit 2 ;;
    esac
done
ls -l "$output"
