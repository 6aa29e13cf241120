#!/bin/sh
# h2inc.sh HEADER: print HEADER (include/bootlab.h) as a NASM include file.
# The header is the single source of every constant; NASM cannot read C, so
# "#define" becomes "%define" and "//" comments become ";" comments.
set -eu
printf '; Generated from %s by tools/h2inc.sh. Do not edit.\n' "$1"
sed -e '/^#ifndef/d' -e '/^#endif/d' -e '/^#define [A-Z_]*_H$/d' \
    -e 's/^#define/%define/' -e 's|//|;|' "$1"
