#!/usr/bin/env bash
# Stage the demo image's root tree into DEST (which must not exist): the Debian 12 tree,
# the language tree (Python, npm, Ruby, PHP, .NET and lockfiles), a Spring-Boot-style jar
# and a Go binary. The ext4 demo image (make-fixtures.sh) and its XFS twin
# (make-fixtures-xfs.sh) are both made from this one tree.
set -euo pipefail
cd "$(dirname "$0")/.."
destination=$1
cp -a fixtures/trees/demo "$destination"
cp -a fixtures/trees/lang/. "$destination/"
mkdir -p "$destination/opt/app" "$destination/usr/local/bin"
cp fixtures/binaries/spring-app.jar "$destination/opt/app/spring-app.jar"
zstd -q -d fixtures/binaries/go-hello.zst -o "$destination/usr/local/bin/hello"
chmod 755 "$destination/usr/local/bin/hello"
