/* boot16.ld.S: link the real-mode code (boot sector + stage 2's 16-bit part).
 * Preprocessed with cpp so the addresses come from bootlab.h. */
#include "bootlab.h"

OUTPUT_FORMAT("elf32-i386")
OUTPUT_ARCH(i386)
ENTRY(boot_start)

SECTIONS
{
	/* The BIOS loads sector 0 here; code first, signature in the last 2 bytes. */
	.boot BOOT_SECTOR_ADDR : { *(.boot) }
	.bootsig (BOOT_SECTOR_ADDR + BOOT_CODE_MAX) : { *(.bootsig) }

	/* Sector 1 on: stage2_start must come first, the boot sector jumps there. */
	.text16 STAGE2_ADDR : { *stage2.o(.text16) *(.text16) *(.data16) }
	ASSERT(. <= PM32_ADDR, "real-mode stage 2 runs into PM32_ADDR: move PM32_ADDR up in bootlab.h")

	/DISCARD/ : { *(.note*) *(.comment) }
}
