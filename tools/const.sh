#!/bin/sh
# const.sh NAME...: print the value of constants from include/bootlab.h, one
# per line, evaluated to decimal (the header is the only place they live).
set -eu
here=$(dirname "$0")
for name in "$@"; do
	expr=$(printf '#include "bootlab.h"\n%s\n' "$name" |
		cpp -P -undef -I "$here/../include" - | tr -d '\n')
	echo $(( $expr ))
done
