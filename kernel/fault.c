// fault.c: raise a chosen CPU exception on purpose (make FAULT=name), so the
// panic screen can be seen and tested. Without FAULT this does nothing.
#include <stdint.h>
#include "config.h"
#include "kernel.h"
#include "kprintf.h"

// Far outside the identity map (paging.asm maps 0 - 1 GiB): not present.
#define UNMAPPED_ADDRESS 0x80000000
// Bits 63:48 differ from bit 47: a non-canonical address, so #GP (SDM 3.3.7.1).
#define NON_CANONICAL_ADDRESS 0x8000000000000000

void trigger_configured_fault(void)
{
#if defined(FAULT_DE)
	// In assembly: GCC is free to turn a C division by zero into anything.
	kprintf("fault: FAULT=de, dividing by zero\n");
	__asm__ volatile("div %0" : : "r"(0), "a"(1), "d"(0));
#elif defined(FAULT_BP)
	kprintf("fault: FAULT=bp, executing int3\n");
	__asm__ volatile("int3");
#elif defined(FAULT_UD)
	kprintf("fault: FAULT=ud, executing ud2\n");
	__asm__ volatile("ud2");
#elif defined(FAULT_GP)
	kprintf("fault: FAULT=gp, reading a non-canonical address\n");
	(void)*(volatile uint64_t *)NON_CANONICAL_ADDRESS;
#elif defined(FAULT_PF)
	kprintf("fault: FAULT=pf, writing to unmapped 0x%lx\n", (uint64_t)UNMAPPED_ADDRESS);
	*(volatile uint64_t *)UNMAPPED_ADDRESS = 1;
#endif
}
