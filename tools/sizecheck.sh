#!/bin/sh
# sizecheck.sh WHAT SIZE LIMIT [HINT]: print "WHAT: SIZE of LIMIT bytes" and
# fail, naming both numbers, when SIZE is larger than LIMIT.
set -eu
what=$1 size=$2 limit=$3 hint=${4:-}
if [ "$size" -gt "$limit" ]; then
	echo "error: $what is too big: $size of $limit bytes${hint:+ ($hint)}" >&2
	exit 1
fi
echo "$what: $size of $limit bytes"
