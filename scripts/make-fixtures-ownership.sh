#!/usr/bin/env bash
# Build the ownership fixtures:
#  - a tiny Debian-like root where dpkg's python3-requests owns requests-2.28.1.dist-info
#    (listed in /var/lib/dpkg/info/python3-requests.list) and pip installed
#    six-1.16.0.dist-info under /usr/local (owned by no OS package);
#  - a tiny Amazon-Linux-2023-like root where RPMs built with rpmbuild and installed with
#    `rpm -i --root` (files and the SQLite rpmdb) own requests-2.25.1.dist-info and a
#    six egg-info file, and pip's urllib3 under /usr/local is owned by nothing.
# Writes
#   fixtures/images/ownership.img.zst       the Debian tree (mke2fs -d), zstd -19
#   fixtures/images/ownership-rpm.img.zst   the Amazon Linux tree, zstd -19
# Needs: mke2fs, zstd, rpm, rpmbuild. Deterministic enough for a test: only the contents matter.
set -euo pipefail

repository=$(cd "$(dirname "$0")/.." && pwd)
image="$repository/fixtures/images/ownership.img"
tree=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$tree" "$work"' EXIT
export SOURCE_DATE_EPOCH=1700000000 LC_ALL=C TZ=UTC

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

# An ext4 image of a tree, compressed beside the other fixtures.
write_image() { # tree image
  mkdir -p "$(dirname "$2")"
  rm -f "$2" "$2.zst"
  mke2fs -q -t ext4 -d "$1" "$2" 8M
  zstd -q -19 --rm "$2"
  echo "wrote ${2#"$repository"/}.zst"
}
write_image "$tree" "$image"

# --- Amazon Linux 2023 with rpm -----------------------------------------------------------
root=$work/root
top=$work/rpmbuild
site=/usr/lib/python3.9/site-packages
mkdir -p "$root/etc" "$top/SPECS" "$root/usr/local/lib/python3.9/site-packages/urllib3-1.26.18.dist-info"
cat > "$root/etc/os-release" <<'END'
NAME="Amazon Linux"
VERSION="2023"
ID="amzn"
ID_LIKE="fedora"
VERSION_ID="2023"
PRETTY_NAME="Amazon Linux 2023.5.20240805"
END
printf 'Metadata-Version: 2.1\nName: urllib3\nVersion: 1.26.18\n' \
    > "$root/usr/local/lib/python3.9/site-packages/urllib3-1.26.18.dist-info/METADATA"
# A noarch RPM installing the files given as `path=content` pairs.
spec() { # name version release file=content...
  local name=$1 version=$2 release=$3
  shift 3
  {
    echo "Name: $name"
    echo "Version: $version"
    echo "Release: $release"
    echo "Summary: snapscan ownership fixture $name"
    echo "License: MIT"
    echo "BuildArch: noarch"
    # No generated Provides/Requires: they need python tools and matter nothing here.
    echo "AutoReqProv: no"
    echo "%description"
    echo "Owns a Python distribution's metadata, as Amazon Linux's python3 packages do."
    echo "%install"
    local pair
    for pair in "$@"; do
      echo "mkdir -p %{buildroot}$(dirname "${pair%%=*}")"
      echo "printf '${pair#*=}' > %{buildroot}${pair%%=*}"
    done
    echo "%files"
    for pair in "$@"; do
      echo "${pair%%=*}"
    done
  } > "$top/SPECS/$name.spec"
  rpmbuild --quiet -bb --define "_topdir $top" --define "_build_id_links none" \
    --define "use_source_date_epoch_as_buildtime 1" --define "_buildhost fixtures.example.org" \
    "$top/SPECS/$name.spec"
}
spec python3-requests 2.25.1 1.amzn2023.0.3 \
  "$site/requests-2.25.1.dist-info/METADATA=Metadata-Version: 2.1\\nName: requests\\nVersion: 2.25.1\\n" \
  "$site/requests/__init__.py=# requests\\n"
# The file form of egg-info: the metadata file itself is what the RPM lists.
spec python3-six 1.15.0 5.amzn2023.0.2 \
  "$site/six-1.15.0-py3.9.egg-info=Metadata-Version: 1.2\\nName: six\\nVersion: 1.15.0\\n"
spec bash 5.2.15 1.amzn2023.0.2 "/usr/bin/bash=#!/bin/sh\\n"
rpm --root "$root" --dbpath /var/lib/rpm --define '_db_backend sqlite' \
  -i --nodeps --noscripts --ignorearch --ignoreos "$top"/RPMS/noarch/*.rpm
# rpm checkpoints on close; drop the empty side files as a cleanly shut-down system has.
rm -f "$root/var/lib/rpm/rpmdb.sqlite-wal" "$root/var/lib/rpm/rpmdb.sqlite-shm" "$root/var/lib/rpm/.rpm.lock"
write_image "$root" "$repository/fixtures/images/ownership-rpm.img"
