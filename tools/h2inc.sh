#!/bin/sh
# h2inc.sh HEADER: print HEADER (include/bootlab.h, include/x86.h) as a NASM
# include file. The headers are the single source of every constant; NASM
# cannot read C, so "#define" becomes "%define", '#include "x.h"' becomes
# '%include "x.inc"' and "//" comments become ";" comments.
set -eu
printf '; Generated from %s by tools/h2inc.sh. Do not edit.\n' "$1"
sed -e '/^#ifndef/d' -e '/^#endif/d' -e '/^#define [A-Z0-9_]*_H$/d' \
    -e 's/^#include "\(.*\)\.h"/%include "\1.inc"/' \
    -e 's/^#define/%define/' -e 's|//|;|' "$1"
