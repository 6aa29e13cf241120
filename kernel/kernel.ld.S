/* kernel.ld.S: link the 64-bit kernel at KERNEL_ADDR, where boot.asm loads it. */
#include "bootlab.h"

OUTPUT_FORMAT("elf64-x86-64")
OUTPUT_ARCH(i386:x86-64)
ENTRY(lm_entry)

SECTIONS
{
	. = KERNEL_ADDR;
	/* lm_entry must be the first byte: lmode.asm far-jumps to KERNEL_ADDR. */
	.text : { *(.text.entry) *(.text .text.*) }
	.rodata : { *(.rodata .rodata.*) }
	.data : { *(.data .data.*) }

	/* Not in the image: entry64.asm clears it before calling kmain. */
	.bss (NOLOAD) : ALIGN(16) {
		__bss_start = .;
		*(.bss .bss.* COMMON)
		. = ALIGN(16);
		kernel_stack_bottom = .;
		. += KERNEL_STACK_SIZE;
		kernel_stack_top = .;
		__bss_end = .;
	}
	kernel_end = .;

	ASSERT(lm_entry == KERNEL_ADDR, "lm_entry is not at KERNEL_ADDR")
	ASSERT(kernel_end <= KERNEL_END_LIMIT, "kernel image plus .bss and stack reach KERNEL_END_LIMIT")

	/DISCARD/ : { *(.note*) *(.comment) *(.eh_frame) }
}
