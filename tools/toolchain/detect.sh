#!/bin/sh
# detect.sh [--why]: print the toolchain prefix the build uses when no CROSS=
# is given (the Makefile prepends it to gcc, ld, objcopy, ...), first match:
#   1. x86_64-elf-gcc on PATH                 -> x86_64-elf-
#   2. the one `make toolchain` built: a stamp and a gcc in TOOLCHAIN_PREFIX
#      (default ${XDG_DATA_HOME:-~/.local/share}/bootlab/toolchain)
#                                             -> PREFIX/bin/x86_64-elf-
#   3. neither                                -> nothing: the host's gcc and
#      ld, which build the kernel with the freestanding flags all the same
# --why prints the reason instead, as one sentence.
set -eu
TARGET=x86_64-elf
prefix=${TOOLCHAIN_PREFIX:-${XDG_DATA_HOME:-${HOME:-/nonexistent}/.local/share}/bootlab/toolchain}

# A prefix without the stamp build.sh writes last is a build still running or
# one that failed half-way: not a toolchain yet.
if path=$(command -v $TARGET-gcc 2> /dev/null); then
	cross=$TARGET- why="$TARGET-gcc is on PATH ($path)"
elif [ -f "$prefix/bootlab-toolchain.stamp" ] && [ -x "$prefix/bin/$TARGET-gcc" ]; then
	cross=$prefix/bin/$TARGET- why="built by make toolchain in $prefix"
else
	cross= why="no $TARGET-gcc on PATH nor in $prefix: the host's gcc and ld (make toolchain builds one)"
fi

if [ "${1:-}" = --why ]; then echo "$why"; else echo "$cross"; fi
