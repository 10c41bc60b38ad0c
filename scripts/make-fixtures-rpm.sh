#!/usr/bin/env bash
# Build the rpm and apk fixtures with the real tools, from nothing but this script:
#  - tiny RPMs with realistic NEVRAs (an epoch, a subpackage with another source RPM, two
#    kernels, a noarch package) made with rpmbuild and installed with `rpm --justdb` into
#    an SQLite rpmdb (the backend Debian's rpm writes), plus an imported signing key
#    (a gpg-pubkey entry);
#  - the same header blobs loaded into BerkeleyDB hash `Packages` files with db_load, in
#    little- and big-endian byte order;
#  - `rpm -qa` of each database as the expected list the tests compare with;
#  - an Amazon-Linux-2023-like root in an ext4 filesystem in a GPT disk image, a legacy
#    Red Hat style root (release files only, BerkeleyDB Packages) in a bare ext4 image, and
#    an Alpine-like root with a hand-written /lib/apk/db/installed in a bare ext4 image.
# Tools: rpm, rpmbuild, gpg, sqlite3, db_load (db-util), mke2fs, sgdisk, zstd.
# Output: fixtures/rpm/ (committed; tests never need these tools).
set -euo pipefail
cd "$(dirname "$0")/.."
export SOURCE_DATE_EPOCH=1700000000 LC_ALL=C TZ=UTC
out=fixtures/rpm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
rm -f "$out"/*

# --- RPMs -------------------------------------------------------------------------------
top=$work/rpmbuild
mkdir -p "$top/SPECS"
spec() { # name epoch-or-empty version release arch [subpackage]
  local name=$1 epoch=$2 version=$3 release=$4 arch=$5 subpackage=${6:-}
  {
    echo "Name: $name"
    [ -n "$epoch" ] && echo "Epoch: $epoch"
    echo "Version: $version"
    echo "Release: $release"
    echo "Summary: snapscan fixture package $name"
    echo "License: MIT"
    echo "Vendor: Amazon Linux"
    echo "BuildArch: $arch"
    echo "%description"
    echo "A package with no files, for snapscan's rpm database fixtures."
    if [ -n "$subpackage" ]; then
      echo "%package -n $subpackage"
      echo "Summary: snapscan fixture subpackage $subpackage"
      echo "%description -n $subpackage"
      echo "A subpackage built from $name."
      echo "%files -n $subpackage"
    fi
    echo "%files"
  } > "$top/SPECS/$name-$version-$release.spec"
}
spec openssl 1 3.0.8 1.amzn2023.0.3 x86_64 openssl-libs
spec bash "" 5.2.15 1.amzn2023.0.2 x86_64
spec kernel "" 6.1.102 108.177.amzn2023 x86_64
spec kernel "" 6.1.109 118.189.amzn2023 x86_64
spec system-release "" 2023.5.20240805 0.amzn2023 noarch
spec zlib "" 1.2.13 5.amzn2023.0.2 x86_64
for file in "$top"/SPECS/*.spec; do
  rpmbuild --quiet -bb --define "_topdir $top" --define "_build_id_links none" \
    --define "use_source_date_epoch_as_buildtime 1" --define "_buildhost fixtures.example.org" "$file"
done

# A signing key, imported as rpm imports vendor keys (it becomes a gpg-pubkey entry).
export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
  --quick-generate-key 'snapscan fixtures <fixtures@example.org>' ed25519 sign never
gpg --batch --quiet --armor --export fixtures@example.org > "$work/key.asc"

# --- SQLite rpmdb ----------------------------------------------------------------------
root=$work/al2023
mkdir -p "$root/var/lib/rpm"
rpm --root "$root" --dbpath /var/lib/rpm --define '_db_backend sqlite' --import "$work/key.asc"
rpm --root "$root" --dbpath /var/lib/rpm --define '_db_backend sqlite' \
  -i --justdb --nodeps --noscripts --ignorearch --ignoreos "$top"/RPMS/*/*.rpm
# rpm checkpoints on close; a leftover WAL would hold packages an immutable open misses.
for side in "$root/var/lib/rpm/rpmdb.sqlite-wal" "$root/var/lib/rpm/rpmdb.sqlite-shm"; do
  if [ -s "$side" ] && [ "${side##*-}" = wal ]; then echo "unexpected non-empty $side" >&2; exit 1; fi
  rm -f "$side"
done
cp "$root/var/lib/rpm/rpmdb.sqlite" "$out/rpmdb.sqlite"

query='%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE} %{ARCH} %|SOURCERPM?{%{SOURCERPM}}:{(none)}|\n'
list() { # dbpath-directory output
  rpm -qa --dbpath "$1" --qf "$query" 2>/dev/null | sort > "$2"
  [ -s "$2" ] || { echo "rpm listed nothing for $1" >&2; exit 1; }
}
list "$root/var/lib/rpm" "$out/rpmdb.sqlite.expected"

# --- BerkeleyDB hash Packages, both byte orders ----------------------------------------
# rpm's BerkeleyDB `Packages`: key = header number (4 bytes, the writer's byte order),
# value = the header blob. db_load builds the hash pages and overflow chains itself.
for order in 1234 4321; do
  directory=$work/bdb-$order
  mkdir -p "$directory"
  scripts/rpmdb-dump.sh "$out/rpmdb.sqlite" 1 $order > "$work/dump-$order.txt"
  db_load -c db_lorder=$order -c db_pagesize=4096 -f "$work/dump-$order.txt" "$directory/Packages"
  name=$([ "$order" = 1234 ] && echo little || echo big)
  cp "$directory/Packages" "$out/Packages-$name-endian"
  list "$directory" "$out/Packages-$name-endian.expected"
done

# Many records with 512-byte pages: hundreds of buckets in several doubling groups, bucket
# chains continued on further hash pages, and every header on an overflow chain.
mkdir -p "$work/bdb-many"
scripts/rpmdb-dump.sh "$out/rpmdb.sqlite" 60 1234 > "$work/dump-many.txt"
db_load -c db_pagesize=512 -f "$work/dump-many.txt" "$work/bdb-many/Packages"
cp "$work/bdb-many/Packages" "$out/Packages-many"
list "$work/bdb-many" "$out/Packages-many.expected"

# --- Amazon-Linux-2023-like disk image -------------------------------------------------
cat > "$root/etc-os-release" <<'OS'
NAME="Amazon Linux"
VERSION="2023"
ID="amzn"
ID_LIKE="fedora"
VERSION_ID="2023"
PLATFORM_ID="platform:al2023"
PRETTY_NAME="Amazon Linux 2023.5.20240805"
ANSI_COLOR="0;33"
OS
mkdir -p "$root/etc" "$root/usr/lib"
mv "$root/etc-os-release" "$root/usr/lib/os-release"
ln -s ../usr/lib/os-release "$root/etc/os-release"
echo 'Amazon Linux release 2023.5.20240805 (Amazon Linux)' > "$root/usr/lib/system-release"
ln -s ../usr/lib/system-release "$root/etc/system-release"
rm -rf "$root/var/lib/rpm/.rpm.lock" "$root/var/lib/rpm/.dbenv.lock"
filesystem=$work/al2023.ext4
mke2fs -q -F -t ext4 -d "$root" -U 5a1b2c3d-0000-4000-8000-0000000a2023 \
  -E hash_seed=5a1b2c3d-1111-4000-8000-000000000000 "$filesystem" 8M
disk=$out/al2023-gpt.img
truncate -s 12M "$disk"
sgdisk --disk-guid=5A1B2C3D-2222-4000-8000-00000000A023 \
  --new=1:2048:+1M --typecode=1:EF02 --change-name=1:bios \
  --new=2:4096:+8M --typecode=2:8300 --change-name=2:root \
  --partition-guid=2:5A1B2C3D-3333-4000-8000-00000000A023 "$disk" >/dev/null 2>&1
table=$(sgdisk -p "$disk")
grep -q "^ *2 *4096 " <<<"$table" || { echo "sgdisk did not write the partition table" >&2; exit 1; }
dd if="$filesystem" of="$disk" bs=512 seek=4096 conv=notrunc status=none

# --- A legacy Red Hat style root: no os-release, BerkeleyDB Packages ---------------------
legacy=$work/legacy
mkdir -p "$legacy/etc" "$legacy/var/lib/rpm"
echo 'CentOS Linux release 7.9.2009 (Core)' > "$legacy/etc/centos-release"
ln -s centos-release "$legacy/etc/redhat-release"
ln -s centos-release "$legacy/etc/system-release"
cp "$work/bdb-1234/Packages" "$legacy/var/lib/rpm/Packages"
mke2fs -q -F -t ext4 -d "$legacy" -U 5a1b2c3d-0000-4000-8000-0000000c0007 \
  -E hash_seed=5a1b2c3d-1111-4000-8000-000000000000 "$out/legacy-bare.img" 4M

# --- Alpine-like image ------------------------------------------------------------------
alpine=$work/alpine
mkdir -p "$alpine/etc" "$alpine/lib/apk/db"
printf 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\nHOME_URL="https://alpinelinux.example.org/"\n' > "$alpine/etc/os-release"
echo 3.20.3 > "$alpine/etc/alpine-release"
# apk's installed database as apk writes it: a stanza per package, F:/R: file lists.
cat > "$alpine/lib/apk/db/installed" <<'APK'
C:Q1ITsJJdXeZYOTBnjrj8iM+ODPWuk=
P:musl
V:1.2.5-r0
A:x86_64
S:411323
I:662528
T:the musl c library (libc) implementation
U:https://musl.libc.example.org/
L:MIT
o:musl
m:Alpine Fixture Maintainer <maintainer@alpinelinux.example.org>
t:1712142432
c:1b71d5ea7e1a1de6cb3c0a9a11f8a6f5d3b3a1a7
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1BRjGUgGlAzT5dcb4bp1Ts+bG9cs=
R:libc.musl-x86_64.so.1
a:0:0:777
Z:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=

C:Q1cSEvqbt4LlTqYDnkCWyeTKXbdyg=
P:busybox
V:1.36.1-r29
A:x86_64
S:509553
I:955248
T:Size optimized toolbox of many common UNIX utilities
U:https://busybox.example.org/
L:GPL-2.0-only
o:busybox
m:Alpine Fixture Maintainer <maintainer@alpinelinux.example.org>
t:1717169430
c:65bc7d6f57ac5eddd3e8ce0e2d53d8a7a7b1c4f4
F:bin
R:busybox
a:0:0:755
Z:Q1WIu9ePEt6wCJKkTxfXzA9usbNdo=

C:Q1mWI6h5O2OR2wKJ1wbrlr4DZ3iv0=
P:libcrypto3
V:3.3.2-r0
A:x86_64
S:1750425
I:4493312
T:Crypto library from openssl
U:https://www.openssl.example.org/
L:Apache-2.0
o:openssl
m:Alpine Fixture Maintainer <maintainer@alpinelinux.example.org>
t:1725374426
c:36e0c6c7ac3d3cd9e4b7cbcd41b8fdfd1f1cd7d4
D:so:libc.musl-x86_64.so.1
p:so:libcrypto.so.3=3
F:lib
R:libcrypto.so.3

C:Q1cVPqCtXt/jSHxkEyABfv8U2c8xE=
P:libssl3
V:3.3.2-r0
A:x86_64
S:344385
I:798720
T:SSL shared libraries
U:https://www.openssl.example.org/
L:Apache-2.0
o:openssl
m:Alpine Fixture Maintainer <maintainer@alpinelinux.example.org>
t:1725374426
c:36e0c6c7ac3d3cd9e4b7cbcd41b8fdfd1f1cd7d4
F:lib
R:libssl.so.3

C:Q1Z0tOC1Z4fXIHUn0BsQnSWZy0Y9g=
P:alpine-baselayout-data
V:3.6.5-r0
A:x86_64
S:11235
I:77824
T:Alpine base dir structure and init scripts
U:https://git.alpinelinux.example.org/aports/tree/main/alpine-baselayout
L:GPL-2.0-only
o:alpine-baselayout
m:Alpine Fixture Maintainer <maintainer@alpinelinux.example.org>
t:1714981135
c:66187892e05b03a41d08e9acabd19b7576a1c875
F:etc
R:fstab

C:Q1broken=
P:stanza-without-version
A:x86_64
o:broken

APK
mke2fs -q -F -t ext4 -d "$alpine" -U 5a1b2c3d-0000-4000-8000-0000000a1320 \
  -E hash_seed=5a1b2c3d-1111-4000-8000-000000000000 "$out/alpine-bare.img" 4M

for image in "$out"/*.img; do zstd -q -19 -f --rm "$image"; done
for database in "$out/rpmdb.sqlite" "$out"/Packages-*-endian "$out/Packages-many"; do zstd -q -19 -f --rm "$database"; done
ls -l "$out"
