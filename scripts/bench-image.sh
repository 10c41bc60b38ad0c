# Sourced by the benchmarks: stage trees and turn them into disk images like a cloud root
# volume (8 GiB, GPT, a 512 MiB EFI partition, then the root filesystem).
# Needs mke2fs, e2fsck and sfdisk; no root.

# Where the root partition starts, in 512-byte sectors (after the EFI partition).
root_partition_start=1050624

# stage_usr_share TREE: a copy of this machine's /usr/share (tens of thousands of files),
# its dpkg status (hundreds of packages) and os-release.
stage_usr_share() {
  local tree=$1
  mkdir -p "$tree/usr" "$tree/var/lib/dpkg" "$tree/etc"
  echo "copying /usr/share ..." >&2
  cp -a /usr/share "$tree/usr/share"
  cp /var/lib/dpkg/status "$tree/var/lib/dpkg/status"
  cp -L /etc/os-release "$tree/etc/os-release"
}

# make_disk IMAGE FILESYSTEM: an 8 GiB GPT disk whose root partition holds the
# filesystem image FILESYSTEM (removed afterwards).
make_disk() {
  local image=$1 filesystem=$2
  rm -f "$image"
  truncate -s 8G "$image"
  sfdisk -q "$image" <<TABLE
label: gpt
start=2048, size=1048576, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
start=$root_partition_start, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
TABLE
  dd if="$filesystem" of="$image" bs=1M seek=$((root_partition_start * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
  rm -f "$filesystem"
}

# make_root_image TREE IMAGE: make_disk with an ext4 root holding TREE.
make_root_image() {
  local tree=$1 image=$2
  local root_fs=$image.root.ext4
  rm -f "$root_fs"
  echo "making ext4 ..." >&2
  mke2fs -q -F -t ext4 -d "$tree" "$root_fs" 7G
  # Index directories (htree) as the kernel would have on a live system.
  e2fsck -fyD "$root_fs" >/dev/null 2>&1 || [ $? -eq 1 ]
  make_disk "$image" "$root_fs"
}
