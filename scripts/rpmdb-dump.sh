#!/usr/bin/env bash
# Print db_load input (`bytevalue` hash dump) for a BerkeleyDB rpm `Packages` database
# holding the header blobs of an SQLite rpmdb, COPIES times over under fresh header
# numbers. rpm's key is the header number in the writer's byte order: ORDER 1234 writes it
# little-endian, 4321 big-endian (pass the same to `db_load -c db_lorder=`).
# Usage: scripts/rpmdb-dump.sh RPMDB.SQLITE COPIES ORDER > dump.txt
set -euo pipefail
database=$1 copies=$2 order=$3
printf 'VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n'
blobs=$(sqlite3 "$database" 'SELECT hex(blob) FROM Packages ORDER BY hnum')
number=0
for _ in $(seq 1 "$copies"); do
  while read -r blob; do
    number=$((number + 1))
    low=$((number & 255)) high=$((number >> 8 & 255))
    if [ "$order" = 1234 ]; then key=$(printf '%02x%02x0000' "$low" "$high"); else key=$(printf '0000%02x%02x' "$high" "$low"); fi
    printf ' %s\n %s\n' "$key" "$(printf '%s' "$blob" | tr 'A-F' 'a-f')"
  done <<< "$blobs"
done
printf 'DATA=END\n'
