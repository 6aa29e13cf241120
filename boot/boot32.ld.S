/* boot32.ld.S: link the 32-bit protected-mode part of stage 2. */
#include "bootlab.h"

OUTPUT_FORMAT("elf32-i386")
OUTPUT_ARCH(i386)
ENTRY(pm_entry)

SECTIONS
{
	/* pm_entry (pm32.o) first: it is the target of pmode.asm's far jump. */
	.text32 PM32_ADDR : { *pm32.o(.text32) *(.text32) *(.data32) }
	ASSERT(. <= STAGE2_END, "32-bit stage 2 runs past STAGE2_END: raise STAGE2_END in bootlab.h")

	/DISCARD/ : { *(.note*) *(.comment) }
}
