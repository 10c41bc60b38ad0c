# Sourced by the benchmarks: turn a staged directory tree into a disk image like a cloud
# root volume (8 GiB, GPT, a 512 MiB EFI partition, then an ext4 root holding the tree).
# Needs mke2fs, e2fsck and sfdisk; no root.

# make_root_image TREE IMAGE
make_root_image() {
  local tree=$1 image=$2
  local root_fs=$image.root.ext4
  rm -f "$root_fs"
  echo "making ext4 ..." >&2
  mke2fs -q -F -t ext4 -d "$tree" "$root_fs" 7G
  # Index directories (htree) as the kernel would have on a live system.
  e2fsck -fyD "$root_fs" >/dev/null 2>&1 || [ $? -eq 1 ]
  rm -f "$image"
  truncate -s 8G "$image"
  sfdisk -q "$image" <<'TABLE'
label: gpt
start=2048, size=1048576, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
start=1050624, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
TABLE
  dd if="$root_fs" of="$image" bs=1M seek=$((1050624 * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
  rm -f "$root_fs"
}
