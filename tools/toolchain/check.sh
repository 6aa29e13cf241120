#!/bin/sh
# check.sh BUILD_DIR CROSS: `make check-toolchain`. Build the whole image from
# scratch with the cross toolchain CROSS (a prefix such as x86_64-elf- or
# ~/.local/share/bootlab/toolchain/bin/x86_64-elf-) in BUILD_DIR, check that
# every C object was compiled by that gcc (the compiler writes its
# identification into each object's .comment section) and that the links used
# its ld, then boot the image headless: the kernel must reach debug_exit
# (QEMU exit status 33 through isa-debug-exit, as in make run-headless).
set -eu
b=$1 cross=$2
fail() { echo "check-toolchain: FAIL: $*" >&2; exit 1; }

case $cross in
*x86_64-elf-) ;;
'') fail "no x86_64-elf toolchain: none on PATH, none built by make toolchain (run make toolchain first)" ;;
*) fail "CROSS=$cross is not an x86_64-elf toolchain" ;;
esac
gcc=${cross}gcc ld=${cross}ld
"$gcc" --version > /dev/null 2>&1 || fail "$gcc does not run"
# "x86_64-elf-gcc (bootlab) 12.2.0" -> "GCC: (bootlab) 12.2.0", what this gcc
# writes into .comment.
version=$("$gcc" --version | head -n 1)
ident=${version#* }
echo "check-toolchain: CC = $gcc: $version"
echo "check-toolchain: LD = $ld: $("$ld" --version | head -n 1)"

rm -rf "$b"
echo "check-toolchain: building the image in $b"
make --no-print-directory B="$b" CROSS="$cross" all

# Every C source gives one object; each must carry this compiler's mark.
n=0
for src in kernel/*.c; do
	obj=$b/kernel/$(basename "$src" .c).o
	comment=$("${cross}readelf" -p .comment "$obj" | sed -n 's/^ *\[ *[0-9a-f]*\] *//p')
	[ "$comment" = "GCC: $ident" ] ||
		fail "$obj: .comment says '$comment', expected 'GCC: $ident'"
	n=$((n + 1))
done
echo "check-toolchain: $n C objects, each with .comment 'GCC: $ident'"

# The build records the tools it used (tools/toolchain/toolchain.mk).
for tool in "$gcc" "$ld"; do
	grep -qx "$(command -v "$tool")" "$b/gen/toolchain.id" ||
		fail "$b/gen/toolchain.id does not name $tool"
done
for elf in boot16 boot32 kernel; do
	echo "check-toolchain: $b/$elf.elf: $("${cross}readelf" -h "$b/$elf.elf" | sed -n 's/^ *Class: *//p'), $("${cross}readelf" -h "$b/$elf.elf" | sed -n 's/^ *Machine: *//p')"
done

echo "check-toolchain: booting $b/bootlab.img headless (at most 60 s)"
status=0
timeout 60 make --no-print-directory -s B="$b" CROSS="$cross" run-headless || status=$?
[ $status -eq 0 ] || fail "the image built by $gcc did not boot to debug_exit (status $status)"
echo "check-toolchain: PASS: built by $version, booted to debug_exit (QEMU status 33)"
