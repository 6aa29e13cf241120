#!/bin/sh
# setup.sh GROUP...: make sure the Debian packages a group of make targets
# needs are installed. Missing packages are installed when we run as root
# (apt-get, non-interactive); otherwise the exact command is printed and we
# fail. Groups: build run gui debug bochs check fresh toolchain all (all
# leaves out toolchain and fresh: only `make toolchain` and `make
# check-fresh` need them).
# setup.sh --list GROUP...: print the packages of the groups, one a line
# (tests/test_dependencies.py checks every program the code runs against it).
set -eu

packages_for() {
	case "$1" in
	build) echo nasm gcc binutils make ;;
	run)   echo qemu-system-x86 ;;
	gui)   echo qemu-system-gui ;;
	# qemu-utils: qemu-img, which make record needs (qemu-system-x86 does
	# not pull it in with --no-install-recommends).
	# lz4, zstd: make vmlinux on a bzImage compressed with them (Python has no module).
	debug) echo qemu-system-x86 qemu-utils gdb python3-capstone lz4 zstd ;;
	bochs) echo bochs bochsbios vgabios bochs-term bochs-x ;;
	# git: the tests read what ships from the checkout's HEAD (git show),
	# not from a learner's working tree. libc6-dev: the constants test
	# compiles a host program against include/ (stdio.h), and gcc does not
	# pull it in with --no-install-recommends (seen on a fresh system).
	check) echo python3 python3-pytest tmux git libc6-dev ;;
	# make check-fresh: a minimal Debian 12 built with debootstrap.
	fresh) echo debootstrap ;;
	# make toolchain: Debian's upstream tarballs, a host C/C++ compiler, bison and
	# flex (binutils' tarball has no generated ld parser), GCC's math libraries.
	toolchain) echo binutils-source gcc-12-source build-essential bison flex \
		libgmp-dev libmpfr-dev libmpc-dev xz-utils patch ;;
	all)   for g in build run debug bochs check; do packages_for "$g"; done ;;
	*) echo "setup.sh: unknown group '$1' (build run gui debug bochs check fresh toolchain all)" >&2; exit 2 ;;
	esac
}

list=
[ "${1:-}" = --list ] && { list=1; shift; }
[ $# -gt 0 ] || { echo "usage: setup.sh [--list] GROUP..." >&2; exit 2; }
for g in "$@"; do packages_for "$g" > /dev/null || exit 2; done
wanted=$(for g in "$@"; do packages_for "$g"; done | tr ' ' '\n' | sort -u)
[ -n "$list" ] && { echo "$wanted"; exit 0; }

# One dpkg-query for all: "NAME install ok installed" for each present package.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' $wanted 2>/dev/null |
	awk '$4 == "installed" { print $1 }' || true)
missing=$(for p in $wanted; do
	echo "$installed" | grep -qx "$p" || echo "$p"
done | tr '\n' ' ')
missing=${missing% }
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "bootlab: missing Debian packages: $missing" >&2
	echo "bootlab: install them with: sudo apt-get install -y --no-install-recommends $missing" >&2
	exit 1
fi
echo "bootlab: installing missing Debian packages: $missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them once if needed.
apt-get install -y -q --no-install-recommends $missing </dev/null ||
	{ apt-get update -q </dev/null && apt-get install -y -q --no-install-recommends $missing </dev/null; }
