#!/bin/sh
# mkimage.sh OUT BOOT16 BOOT32 KERNEL: lay the flat binaries out on a disk
# image the way boot.asm reads it back:
#   LBA 0              boot sector           -> BOOT_SECTOR_ADDR
#   LBA 1 ..           real-mode stage 2     -> STAGE2_ADDR
#   ..                 32-bit stage 2        -> PM32_ADDR
#   LBA KERNEL_LBA ..  the 64-bit kernel     -> KERNEL_ADDR
#   last LBA           KERNEL_END_MAGIC      -> checked by boot.asm
set -eu
out=$1 boot16=$2 boot32=$3 kernel=$4
here=$(dirname "$0")
# The values come from include/bootlab.h through its one reader.
set -- $(cd "$here/.." && "${PYTHON:-/usr/bin/python3}" -m bootlab.header include/bootlab.h \
	BOOT_SECTOR_ADDR PM32_ADDR STAGE2_END SECTOR_SIZE KERNEL_MAX_SECTORS KERNEL_END_MAGIC)
boot=$1 pm32=$2 end=$3 sector=$4 kmax=$5 magic=$6

"$here/sizecheck.sh" "real-mode code (boot sector + stage 2)" "$(stat -c %s "$boot16")" $((pm32 - boot))
"$here/sizecheck.sh" "32-bit stage 2" "$(stat -c %s "$boot32")" $((end - pm32))
ksize=$(stat -c %s "$kernel")
"$here/sizecheck.sh" "kernel" "$ksize" $(( (kmax - 1) * sector)) "the loader reads at most KERNEL_MAX_SECTORS = $kmax sectors, one is the end marker"

# A private temporary name: two builds at once must not share it.
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
cp "$boot16" "$tmp"
truncate -s $((pm32 - boot)) "$tmp"
cat "$boot32" >> "$tmp"
truncate -s $((end - boot)) "$tmp"
cat "$kernel" >> "$tmp"
size=$(stat -c %s "$tmp")
truncate -s $(( (size + sector - 1) / sector * sector )) "$tmp"
# The end marker, little-endian, then the rest of its sector.
printf "$(printf '\\%03o' $((magic & 255)) $((magic >> 8 & 255)) $((magic >> 16 & 255)) $((magic >> 24)))" >> "$tmp"
size=$(stat -c %s "$tmp")
truncate -s $(( (size + sector - 1) / sector * sector )) "$tmp"
mv "$tmp" "$out"
