#!/bin/sh
# build.sh: build a true x86_64-elf cross toolchain (binutils and a C-only gcc,
# no libc) from Debian's source packages into a per-user prefix, outside the
# repository. `make toolchain` runs it (niced); tools/toolchain/detect.sh then
# finds the result and the Makefile uses it.
#
#   TOOLCHAIN_PREFIX  where it is installed
#                     (default ${XDG_DATA_HOME:-~/.local/share}/bootlab/toolchain)
#   JOBS              parallel make jobs (default: nproc)
#
# Sources: binutils-source (/usr/src/binutils) and gcc-12-source
# (/usr/src/gcc-12) hold the upstream tarballs. Debian's patches are not
# applied, but for one. binutils' series is about Debian's own packages
# (multiarch library paths, the bfd soname, gold, gprof); gcc's list is chosen
# by debian/rules.patch for Debian's native Linux compilers (distro specs, hash
# style, multiarch, Ada, Go, libstdc++) and needs its configure scripts
# regenerated afterwards. None of them changes code generation for a bare
# x86_64-elf target, so what is built here is upstream binutils 2.40 and gcc
# 12.2.0, the toolchain OS-development texts describe. The exception is
# gcc-gfdl-build.diff: Debian's gcc tarball is "dfsg", its GFDL manuals cut
# down, and `make install` checks doc/tm.texi against the hooks the compiler
# has (genhooks: "No place specified to document hook ..."), which the cut
# tm.texi.in cannot pass; Debian's patch, applied here too, turns that check
# off. The toolchain's --version says "(bootlab)", which also tells its
# objects apart from the host gcc's ("Debian 12.2.0-...").
#
# Configure flags, both packages:
#   --target=x86_64-elf  bare ELF: no operating system, no libc, none of the
#                        host compiler's Linux defaults (PIE, __linux__, ...)
#   --prefix=PREFIX      per-user install; nothing lands in /usr
#   --with-sysroot       binutils: accept --sysroot, with no default one
#                        (there are no target libraries to look for)
#   --disable-nls        English messages only; no gettext catalogues to build
#   --disable-werror     new host compilers warn where 2023's sources did not
#   --with-pkgversion=bootlab  shows in --version and in each object's .comment
#   --disable-gdb --disable-gprof --disable-gprofng --disable-sim
#                        binutils: only as, ld and the binary utilities are
#                        needed (the host's GDB debugs any target; gprof has
#                        nothing to profile on bare metal)
#   --enable-languages=c  gcc: C only
#   --without-headers    gcc: there is no libc to take headers from; only
#                        gcc's own freestanding headers (stdint.h, stddef.h...)
#   --disable-lto        gcc: the kernel is not link-time optimised; saves
#                        building lto1
#   CFLAGS_FOR_TARGET=-g -O2 -mno-red-zone
#                        libgcc is compiled without the red zone, so a kernel
#                        that links it (-lgcc) and takes interrupts is safe
#                        (System V AMD64 ABI 3.2.2, "The Red Zone": the
#                        128 bytes below RSP; an interrupt taken without a
#                        stack switch pushes its frame right there)
#
# Install: install-strip for the programs (cc1 is 250 MB with its debug
# information, 33 MB without); libgcc.a keeps its debug information.
#
# Make: `make MAKEINFO=true` everywhere. Debian's tarballs carry no prebuilt
# info manuals (GFDL), and the info manuals are not needed for a cross
# compiler, so texinfo is not a build dependency.
#
# Restartable: each phase leaves a stamp under the build directory; a run
# after a failure or Ctrl-C starts again at the phase that did not finish (a
# configure phase with a fresh object directory, make phases where make left
# off). When the toolchain is complete, a stamp in PREFIX records what was
# built; a later run that finds it and a working compiler does nothing.
set -eu

TARGET=x86_64-elf
# Bump when a flag above changes: the next `make toolchain` rebuilds.
RECIPE=2
[ -n "${HOME:-}${TOOLCHAIN_PREFIX:-}" ] || { echo "toolchain: HOME is not set: set TOOLCHAIN_PREFIX" >&2; exit 1; }
PREFIX=${TOOLCHAIN_PREFIX:-${XDG_DATA_HOME:-$HOME/.local/share}/bootlab/toolchain}
WORK=${XDG_CACHE_HOME:-${HOME:-$PREFIX}/.cache}/bootlab/toolchain-build
JOBS=${JOBS:-$(nproc)}
BINUTILS_SRC=/usr/src/binutils
GCC_SRC=/usr/src/gcc-12

die() { echo "toolchain: $*" >&2; exit 1; }
case $JOBS in ''|0|*[!0-9]*) die "JOBS=$JOBS: expected a positive number of make jobs" ;; esac

# One tarball each; the version comes from its name.
set -- "$BINUTILS_SRC"/binutils-*.tar.xz
[ -f "$1" ] || die "no binutils tarball in $BINUTILS_SRC (make setup-toolchain installs binutils-source)"
BINUTILS_TAR=$1
set -- "$GCC_SRC"/gcc-*.tar.xz
[ -f "$1" ] || die "no gcc tarball in $GCC_SRC (make setup-toolchain installs gcc-12-source)"
GCC_TAR=$1
BINUTILS_VER=$(basename "$BINUTILS_TAR" .tar.xz); BINUTILS_VER=${BINUTILS_VER#binutils-}
GCC_VER=$(basename "$GCC_TAR" .tar.xz); GCC_VER=${GCC_VER#gcc-}; GCC_VER=${GCC_VER%-dfsg}

# What a finished toolchain must match, word for word.
want=$(printf '%s\n' "target $TARGET" "recipe $RECIPE" "prefix $PREFIX" \
	"binutils $BINUTILS_VER ($(dpkg-query -W -f='${Version}' binutils-source 2>/dev/null))" \
	"gcc $GCC_VER ($(dpkg-query -W -f='${Version}' gcc-12-source 2>/dev/null))")
STAMP=$PREFIX/bootlab-toolchain.stamp

built() {
	[ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
	[ "$("$PREFIX/bin/$TARGET-gcc" -dumpversion 2>/dev/null)" = "$GCC_VER" ] &&
	"$PREFIX/bin/$TARGET-ld" --version 2>/dev/null | head -n 1 | grep -q " $BINUTILS_VER\$"
}
if built; then
	echo "toolchain: $TARGET binutils $BINUTILS_VER and gcc $GCC_VER already in $PREFIX (nothing to do)"
	exit 0
fi

mkdir -p "$WORK"
# Two `make toolchain` at once would share one build tree: the second waits.
exec 9> "$WORK/lock"
flock -n 9 || { echo "toolchain: another build holds $WORK/lock; waiting for it"; flock 9; }
if built; then
	echo "toolchain: built meanwhile by the other run; nothing to do"
	exit 0
fi
# An older toolchain in PREFIX is about to be overwritten: until this build
# writes the stamp again, detect.sh must not pick a half-replaced one.
rm -f "$STAMP"
# A build tree left by other versions or flags is useless: start afresh.
if [ "$(cat "$WORK/recipe" 2>/dev/null)" != "$want" ]; then
	find "$WORK" -mindepth 1 -maxdepth 1 ! -name lock -exec rm -rf {} +
	printf '%s\n' "$want" > "$WORK/recipe"
fi
mkdir -p "$WORK/stamps"
LOG=$WORK/build.log
echo "toolchain: building $TARGET binutils $BINUTILS_VER and gcc $GCC_VER (C only) into $PREFIX"
echo "toolchain: $JOBS jobs; full log: $LOG"
echo "==== $(date -u '+%Y-%m-%d %H:%M:%S UTC') build.sh started" >> "$LOG"

T0=$(date +%s)
# fd 3: the terminal, for the trap, which may run while a phase's output goes
# to the log.
exec 3>&1
trap 'echo >&3; echo "toolchain: interrupted; make toolchain again resumes (log: $LOG)" >&3; exit 130' INT TERM
mmss() { s=$(( $(date +%s) - $1 )); printf '%d:%02d' $((s / 60)) $((s % 60)); }

# phase NAME COMMAND...: run one step with its output in the log: one line,
# the name when it starts and its time (m:ss) when it ends; skipped if an
# earlier run finished it.
phase() {
	name=$1; shift
	printf '  %-24s ' "$name"
	if [ -e "$WORK/stamps/$name" ]; then
		echo "done by an earlier run"
		return
	fi
	t=$(date +%s)
	echo "==== $name: $*" >> "$LOG"
	if "$@" >> "$LOG" 2>&1 < /dev/null; then
		touch "$WORK/stamps/$name"
		mmss "$t"; echo
	else
		echo "FAILED after $(mmss "$t"); last lines of $LOG:"
		tail -n 25 "$LOG" | sed 's/^/    /'
		exit 1
	fi
}

# (set -e does not apply inside `if`, where phase runs these: hence the &&.)
unpack() { # unpack TARBALL DIR: a fresh copy, never a half-extracted one
	rm -rf "$WORK/$2" "$WORK/$2.tmp" && mkdir "$WORK/$2.tmp" &&
	tar -xJf "$1" -C "$WORK/$2.tmp" --strip-components=1 &&
	mv "$WORK/$2.tmp" "$WORK/$2"
}

configure() { # configure DIR ARGS...: in a fresh object directory DIR-obj
	src=$WORK/$1; shift
	rm -rf "$src-obj" && mkdir "$src-obj" && (cd "$src-obj" && "$src/configure" "$@")
}

in_dir() { (cd "$1" && shift && "$@"); }

debian_patch() { # debian_patch DIR PATCH: Debian's patches name files src/...
	if patch -d "$WORK/$1" -p2 -R -f -s --dry-run < "$2" > /dev/null 2>&1; then
		echo "already applied: $2"
	else
		patch -d "$WORK/$1" -p2 -f < "$2"
	fi
}

MAKE="make -j$JOBS MAKEINFO=true"

phase "binutils: unpack" unpack "$BINUTILS_TAR" binutils
phase "binutils: configure" configure binutils --target=$TARGET --prefix="$PREFIX" \
	--with-sysroot --disable-nls --disable-werror --with-pkgversion=bootlab \
	--disable-gdb --disable-gprof --disable-gprofng --disable-sim
phase "binutils: make" in_dir "$WORK/binutils-obj" $MAKE
phase "binutils: install" in_dir "$WORK/binutils-obj" $MAKE install-strip

# gcc's configure and libgcc's build look for $TARGET-as, -ld, -ar on PATH.
PATH=$PREFIX/bin:$PATH
CFLAGS_FOR_TARGET='-g -O2 -mno-red-zone'
export PATH CFLAGS_FOR_TARGET

phase "gcc: unpack" unpack "$GCC_TAR" gcc
phase "gcc: Debian's gfdl patch" debian_patch gcc "$GCC_SRC/debian/patches/gcc-gfdl-build.diff"
phase "gcc: configure" configure gcc --target=$TARGET --prefix="$PREFIX" \
	--disable-nls --disable-werror --with-pkgversion=bootlab \
	--enable-languages=c --without-headers --disable-lto
phase "gcc: make all-gcc" in_dir "$WORK/gcc-obj" $MAKE all-gcc
phase "gcc: make libgcc" in_dir "$WORK/gcc-obj" $MAKE all-target-libgcc
phase "gcc: install" in_dir "$WORK/gcc-obj" $MAKE install-strip-gcc install-target-libgcc

"$PREFIX/bin/$TARGET-gcc" -dumpversion > /dev/null ||
	die "$PREFIX/bin/$TARGET-gcc does not run after installing; see $LOG"
printf '%s\n' "$want" > "$STAMP"
cp "$LOG" "$PREFIX/build.log"
# The sources and object directories (GBs) are no longer needed.
tree=$(du -sh "$WORK" | cut -f1)
find "$WORK" -mindepth 1 -maxdepth 1 ! -name lock -exec rm -rf {} +
echo "toolchain: done in $(mmss "$T0"): $(du -sh "$PREFIX" | cut -f1) in $PREFIX (build tree of $tree removed)"
echo "toolchain: the build now uses it (make which-cc); log kept as $PREFIX/build.log"
