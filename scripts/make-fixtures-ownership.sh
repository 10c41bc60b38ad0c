#!/usr/bin/env bash
# Build the ownership fixture: a tiny Debian-like root where dpkg's python3-requests owns
# requests-2.28.1.dist-info (listed in /var/lib/dpkg/info/python3-requests.list) and pip
# installed six-1.16.0.dist-info under /usr/local (owned by no OS package). Writes
#   fixtures/images/ownership.img.zst   an ext4 image of the tree (mke2fs -d), zstd -19
# Needs: mke2fs, zstd. Deterministic enough for a test: only the contents matter.
set -euo pipefail

repository=$(cd "$(dirname "$0")/.." && pwd)
image="$repository/fixtures/images/ownership.img"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT

mkdir -p "$tree/etc" "$tree/var/lib/dpkg/info" \
    "$tree/usr/lib/python3/dist-packages/requests-2.28.1.dist-info" \
    "$tree/usr/local/lib/python3.11/dist-packages/six-1.16.0.dist-info"
cat > "$tree/etc/os-release" <<'END'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION_CODENAME=bookworm
ID=debian
END
cat > "$tree/var/lib/dpkg/status" <<'END'
Package: python3-requests
Status: install ok installed
Architecture: all
Version: 2.28.1+dfsg-1
Source: requests

Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u4
Source: glibc
END
cat > "$tree/var/lib/dpkg/info/python3-requests.list" <<'END'
/.
/usr
/usr/lib
/usr/lib/python3
/usr/lib/python3/dist-packages
/usr/lib/python3/dist-packages/requests-2.28.1.dist-info
/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA
END
printf '/.\n/lib/x86_64-linux-gnu/libc.so.6\n' > "$tree/var/lib/dpkg/info/libc6:amd64.list"
printf 'Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n' \
    > "$tree/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA"
printf 'Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n' \
    > "$tree/usr/local/lib/python3.11/dist-packages/six-1.16.0.dist-info/METADATA"

mkdir -p "$(dirname "$image")"
rm -f "$image" "$image.zst"
mke2fs -q -t ext4 -d "$tree" "$image" 8M
zstd -q -19 --rm "$image"
echo "wrote ${image#"$repository"/}.zst"
