/* kernel.ld.S: link the 64-bit kernel at KERNEL_ADDR, where boot.asm loads it. */
#include "bootlab.h"
#include "config.h"

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
#ifdef CONFIG_SMP
	/* SMP builds: the APs' trampoline (kernel/smp/) is stored in the image
	 * right after .data, but linked to run at TRAMPOLINE_ADDR, where smp.c
	 * copies it: its symbols (ap_start...) are the addresses the APs run at.
	 * ap_start (trampoline16.o) first: the Start-Up IPI enters the page there. */
	.trampoline TRAMPOLINE_ADDR : AT(LOADADDR(.data) + SIZEOF(.data)) {
		*trampoline16.o(.trampoline) *(.trampoline)
	}
	trampoline_load = LOADADDR(.trampoline);
	trampoline_size = SIZEOF(.trampoline);
	/* .bss after the stored trampoline: clearing .bss must not erase it. */
	. = LOADADDR(.trampoline) + SIZEOF(.trampoline);
	ASSERT(ap_start == TRAMPOLINE_ADDR, "ap_start is not at TRAMPOLINE_ADDR")
	ASSERT(TRAMPOLINE_ADDR >= STAGE2_END, "the trampoline overlaps stage 2")
	ASSERT(TRAMPOLINE_ADDR + SIZEOF(.trampoline) <= KERNEL_ADDR, "the trampoline runs into the kernel")
#endif

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
