// physmap.c: reach physical memory beyond the boot's 1 GiB identity map.
//
// boot/paging.asm maps 0 - 1 GiB (PDPT[0] -> one page directory of 2 MiB
// pages); that holds the kernel, the trampoline and, with the lab's 128 MiB,
// the ACPI tables. The local APIC's registers are at 0xfee00000, in the 4th
// GiB, and with more RAM the ACPI tables move up too. This adds, on demand,
// a page directory for GiB 1, 2 or 3 and the 2 MiB pages asked for, at the
// same address (identity), so a physical address is also a pointer.
// Nothing else gets mapped: FAULT=pf's address stays a page fault.
#include <stdint.h>
#include "bootlab.h"
#include "smp.h"

#define GIB        0x40000000
#define LOW_GIBS   4              // PDPT entries 0-3: the first 4 GiB

// One page directory for each GiB above the first, 4 KiB-aligned as every
// paging structure must be (SDM Vol. 3A 4.5.4).
static uint64_t directories[LOW_GIBS - 1][PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));

const char *phys_map(uint64_t phys, uint64_t len, uint64_t extra)
{
	volatile uint64_t *pdpt = (volatile uint64_t *)PDPT_ADDR;

	if (len == 0 || phys + len > (uint64_t)LOW_GIBS * GIB)
		return "above 4 GiB: this kernel maps only the first 4 GiB";
	for (uint64_t page = phys & ~(uint64_t)(LARGE_PAGE_SIZE - 1); page < phys + len;
	     page += LARGE_PAGE_SIZE) {
		unsigned gib = page / GIB, index = (page % GIB) / LARGE_PAGE_SIZE;
		if (gib == 0)
			continue;         // the boot's own map
		uint64_t *pd = directories[gib - 1];
		if (!(pdpt[gib] & PTE_P))
			pdpt[gib] = (uint64_t)pd | PTE_P | PTE_RW;
		if (!(pd[index] & PTE_P))
			pd[index] = page | PTE_P | PTE_RW | PTE_PS | extra;
	}
	// Only not-present entries became present: the CPU caches no
	// translation for those, so there is nothing to invalidate (SDM 4.10.4.3).
	return 0;
}
